/*
 * The acquisition dates (scene list) and the active scene's rasters under the plots: its index
 * raster and, when switched on, its true-colour image (PNG tiles of
 * /tiles/scenes/{scene}/{layer}/, described by their tilejson.json). The active scene is the
 * date clicked in the list, else the newest scene with the index's raster.
 */
import {
  $,
  FILL_LAYER,
  INDEX_RASTER,
  PLOTS_SOURCE,
  TRUECOLOR_RASTER,
  fitPadding,
  state,
} from "./common.js";
import { tr } from "./i18n.js";

const TRUECOLOR = "truecolor"; // raster_assets kind of the true-colour image
const INDEX_RASTER_OVER_IMAGE = 0.6; // index raster opacity with the true-colour image on

export function renderScenes(collection) {
  const list = $("scene-list");
  list.replaceChildren();
  const features = collection.features || [];
  state.scenes = features;
  state.scene = defaultScene();
  if (!features.length) {
    const item = document.createElement("li");
    item.className = "empty";
    item.textContent = tr("web_scenes_none");
    list.append(item);
    return;
  }
  for (const scene of features) {
    const p = scene.properties;
    const item = document.createElement("li");
    item.dataset.sceneId = scene.id;
    const pick = document.createElement("button");
    pick.type = "button";
    pick.className = "scene-pick";
    pick.dataset.sceneId = scene.id;
    pick.addEventListener("click", () => pickScene(scene));
    const date = document.createElement("span");
    date.className = "scene-date";
    date.textContent = p.date;
    const source = document.createElement("span");
    source.className = "scene-source";
    source.textContent = p.platform || p.source;
    const bar = document.createElement("span");
    bar.className = "clear-bar";
    bar.title = tr("web_scene_clear_title");
    const fill = document.createElement("span");
    const clear = document.createElement("span");
    clear.className = "scene-clear";
    if (p.clear_fraction === null || p.clear_fraction === undefined) {
      clear.textContent = tr("web_scene_clear_unknown");
    } else {
      const percent = Math.round(p.clear_fraction * 100);
      fill.style.width = `${percent}%`;
      clear.textContent = tr("web_scene_clear", { percent });
    }
    bar.append(fill);
    pick.append(date, source, bar, clear);
    item.append(pick);
    list.append(item);
  }
  markScenes();
  updateRasters();
  // Opened too wide to draw plots (e.g. plots in two countries): show the active scene.
  if (state.scene && !viewShowsScene(state.scene)) showSceneArea(state.scene);
}

function hasAsset(scene, kind) {
  const wanted = kind.toUpperCase();
  return (scene.properties.assets || []).some((a) => a.toUpperCase() === wanted);
}

/** The newest scene with a raster of the current index (null if none has one). */
export function defaultScene() {
  if (!state.index) return null;
  return state.scenes.find((scene) => hasAsset(scene, state.index.name)) || null;
}

function pickScene(scene) {
  state.scene = scene;
  state.scenePinned = true;
  markScenes();
  updateRasters();
  updatePlotValues();
  if (!viewShowsScene(scene)) showSceneArea(scene);
}

/** Back to each plot's latest clear value (the newest scene's rasters under them). */
export function unpinScene() {
  state.scenePinned = false;
  state.scene = defaultScene();
  markScenes();
  updateRasters();
  updatePlotValues();
}

/** A plot tile URL template asking for one scene's values (`scene_id`). */
function withScene(template, sceneId) {
  const joiner = template.includes("?") ? "&" : "?";
  return `${template}${joiner}scene_id=${encodeURIComponent(sceneId)}`;
}

/**
 * Plots coloured by the picked date's values (flagged ones as no data), or by their latest
 * clear values when no date is picked; the legend says which.
 */
export function updatePlotValues() {
  const map = state.map;
  const source = map && map.getSource(PLOTS_SOURCE);
  if (!source || !state.plotTiles.length) return;
  const dated = state.scenePinned && state.scene ? state.scene : null;
  const tiles = state.plotTiles.map((t) => (dated ? withScene(t, dated.id) : t));
  if (JSON.stringify(tiles) !== JSON.stringify(source.tiles)) source.setTiles(tiles);
  $("legend-note").textContent = dated
    ? tr("web_legend_date", { date: dated.properties.date })
    : tr("web_legend_latest");
  $("scene-latest").hidden = !dated;
  if (dated) document.body.dataset.plotValues = String(dated.id);
  else delete document.body.dataset.plotValues;
}

/** [[west, south], [east, north]] of a GeoJSON geometry (lon/lat). */
function geometryBounds(geometry) {
  let west = Infinity;
  let south = Infinity;
  let east = -Infinity;
  let north = -Infinity;
  const visit = (coords) => {
    if (typeof coords[0] === "number") {
      west = Math.min(west, coords[0]);
      east = Math.max(east, coords[0]);
      south = Math.min(south, coords[1]);
      north = Math.max(north, coords[1]);
    } else coords.forEach(visit);
  };
  visit(geometry.coordinates);
  return [
    [west, south],
    [east, north],
  ];
}

/** Whether the map shows part of the scene at a zoom where plots are drawn. */
function viewShowsScene(scene) {
  const map = state.map;
  if (!map || !scene || !scene.geometry) return true;
  const [[west, south], [east, north]] = geometryBounds(scene.geometry);
  const view = map.getBounds();
  const overlaps =
    west < view.getEast() &&
    east > view.getWest() &&
    south < view.getNorth() &&
    north > view.getSouth();
  return overlaps && map.getZoom() >= state.plotsMinZoom;
}

/** Move the map to a scene's footprint (plots spread over far-apart places start too wide). */
function showSceneArea(scene) {
  state.map.fitBounds(geometryBounds(scene.geometry), {
    padding: fitPadding(),
    maxZoom: 17,
    animate: false,
  });
}

/** aria-pressed on the active date; dates without the index's raster are dimmed. */
export function markScenes() {
  const active = state.scene ? String(state.scene.id) : "";
  const note = $("raster-note");
  const short = state.index ? state.index.short_name : "";
  if (!state.scenes.length) note.textContent = "";
  else if (state.scene && state.index && hasAsset(state.scene, state.index.name)) {
    note.textContent = tr("web_raster_date", { index: short, date: state.scene.properties.date });
  } else note.textContent = tr("web_raster_none", { index: short });
  if (active) document.body.dataset.scene = active;
  else delete document.body.dataset.scene;
  for (const pick of $("scene-list").querySelectorAll(".scene-pick")) {
    const scene = state.scenes.find((s) => String(s.id) === pick.dataset.sceneId);
    const withIndex = !!(scene && state.index && hasAsset(scene, state.index.name));
    pick.setAttribute("aria-pressed", String(pick.dataset.sceneId === active));
    pick.classList.toggle("no-raster", !withIndex);
    pick.title = withIndex
      ? tr("web_scene_pick_title")
      : tr("web_scene_no_raster", { index: state.index ? state.index.short_name : "" });
  }
}

function tilejsonURL(scene, kind) {
  return new URL(
    `/tiles/scenes/${encodeURIComponent(scene.id)}/${encodeURIComponent(kind)}/tilejson.json`,
    window.location.origin,
  ).href;
}

/**
 * Show `kind` of the active scene in raster layer `id` (replacing what it showed), placed
 * below `beforeId`; remove the layer when the scene has no such raster or `show` is false.
 */
function setRaster(id, kind, show, beforeId, paint) {
  const map = state.map;
  const scene = state.scene;
  const url = show && scene && hasAsset(scene, kind) ? tilejsonURL(scene, kind) : null;
  if ((state.rasterURLs[id] || null) === url) return;
  if (map.getLayer(id)) map.removeLayer(id);
  if (map.getSource(id)) map.removeSource(id);
  state.rasterURLs[id] = url;
  if (!url) return;
  map.addSource(id, { type: "raster", url, tileSize: 256 });
  map.addLayer({ id, type: "raster", source: id, paint }, beforeId);
}

/** Bring the raster layers in line with the active scene, index and switches. */
export function updateRasters() {
  const map = state.map;
  if (!map || !map.getLayer(FILL_LAYER) || !state.index) return;
  const opacity = state.truecolor ? INDEX_RASTER_OVER_IMAGE : 1;
  setRaster(INDEX_RASTER, state.index.name, true, FILL_LAYER, {
    "raster-resampling": "nearest",
    "raster-fade-duration": 0,
    "raster-opacity": opacity,
  });
  if (map.getLayer(INDEX_RASTER)) map.setPaintProperty(INDEX_RASTER, "raster-opacity", opacity);
  setRaster(
    TRUECOLOR_RASTER,
    TRUECOLOR,
    state.truecolor,
    map.getLayer(INDEX_RASTER) ? INDEX_RASTER : FILL_LAYER,
    { "raster-fade-duration": 0 },
  );
}
