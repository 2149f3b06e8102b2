/*
 * The MapLibre map: a style built here (no glyphs: no symbol layers, labels are HTML) with the
 * plain background and, when the server configures one, a basemap under everything of ours
 * (Tianditu imagery and labels, SKYGROUND_TIANDITU_KEY). The page configuration is the
 * <script type="application/json" id="skyground-config"> block the server fills in.
 */
import { $, FILL_LAYER, PLOTS_SOURCE, fitPadding, state } from "./common.js";
import { addPlotLayers, showPlot } from "./plots.js";
import { updateRasters } from "./scenes.js";

const BACKGROUND = "#e9ece6";

/** The server's page configuration: {basemap: {sources: {id: raster source}} | null}. */
function pageConfig() {
  const el = $("skyground-config");
  try {
    return (el && JSON.parse(el.textContent)) || {};
  } catch (error) {
    console.error(error);
    return {};
  }
}

/** Ids of the configured basemap's layers (empty without one). */
export function basemapLayers() {
  const basemap = pageConfig().basemap;
  return basemap ? Object.keys(basemap.sources) : [];
}

/**
 * The style's sources and layers: the background, then one raster layer per source of the
 * configured basemap. Our own rasters (updateRasters) and the plots are added above them.
 */
function basemap() {
  const layers = [{ id: "background", type: "background", paint: { "background-color": BACKGROUND } }];
  const sources = {};
  const configured = pageConfig().basemap;
  const visibility = state.basemap ? "visible" : "none";
  for (const [id, source] of Object.entries(configured ? configured.sources : {})) {
    sources[id] = source;
    layers.push({ id, type: "raster", source: id, layout: { visibility } });
  }
  return { sources, layers };
}

/** Show or hide the configured basemap's layers. */
export function showBasemap(show) {
  state.basemap = show;
  if (!state.map) return;
  for (const id of basemapLayers()) {
    if (state.map.getLayer(id)) {
      state.map.setLayoutProperty(id, "visibility", show ? "visible" : "none");
    }
  }
}

export function createMap(tilejson) {
  const base = basemap();
  const map = new window.maplibregl.Map({
    container: "map",
    style: { version: 8, sources: base.sources, layers: base.layers },
    bounds: tilejson.bounds,
    fitBoundsOptions: { padding: fitPadding(), maxZoom: 18 },
    maxZoom: 22,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    attributionControl: Object.keys(base.sources).length ? { compact: true } : false,
  });
  window.skygroundMap = map;
  state.map = map;
  state.plotsMinZoom = tilejson.minzoom;
  map.touchZoomRotate.disableRotation();
  map.addControl(new window.maplibregl.NavigationControl({ showCompass: false }), "bottom-right");
  map.addControl(new window.maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");

  // Plot tiles start at the TileJSON's minzoom (a county fitted on a phone is shallower).
  const zoomHint = () => ($("zoom-hint").hidden = map.getZoom() >= tilejson.minzoom);
  map.on("zoomend", zoomHint);

  map.on("load", () => {
    addPlotLayers(map, tilejson);
    updateRasters();
    zoomHint();
    const ready = () => {
      if (!map.isSourceLoaded(PLOTS_SOURCE)) {
        map.once("idle", ready);
        return;
      }
      document.body.dataset.ready = "true";
      document.dispatchEvent(new CustomEvent("skyground:ready", { detail: { map } }));
    };
    map.once("idle", ready);
  });
  map.on("click", FILL_LAYER, (event) => {
    const feature = event.features && event.features[0];
    if (!feature || feature.id === undefined) return;
    showPlot({ id: feature.id, properties: feature.properties }, event.point);
  });
  map.on("mouseenter", FILL_LAYER, () => (map.getCanvas().style.cursor = "pointer"));
  map.on("mouseleave", FILL_LAYER, () => (map.getCanvas().style.cursor = ""));
  map.on("error", (event) => {
    console.error(event.error || event);
    // A failed tile (an unreachable basemap host) schedules no new frame by itself: without
    // one, "load" and "idle" never come when the last tiles to settle are failed ones.
    map.triggerRepaint();
  });
  return map;
}
