/*
 * The plots: their vector layers coloured by the legend of the chosen index, the legend, the
 * index switch and, for a clicked plot, its card (attributes and index time series).
 */
import {
  $,
  FILL_LAYER,
  OUTLINE_LAYER,
  PHONE,
  PLOTS_LAYER,
  PLOTS_SOURCE,
  SELECTED_LAYER,
  getJSON,
  state,
} from "./common.js";
import { renderChart } from "./chart.js";
import { formatNumber, showStatus, tr } from "./i18n.js";
import { defaultScene, markScenes, updateRasters } from "./scenes.js";

const SEE_THROUGH_OPACITY = 0.55;

export function findIndex(name) {
  if (!name) return null;
  const wanted = name.toUpperCase();
  return (
    state.indices.find(
      (s) => s.name.toUpperCase() === wanted || s.aliases.some((a) => a.toUpperCase() === wanted),
    ) || null
  );
}

// --- colours ----------------------------------------------------------------------------

/** "#rrggbb" or "#rrggbbaa" as a CSS rgba() string (what every MapLibre version parses). */
function cssColor(hex) {
  const h = hex.replace("#", "");
  const v = (i) => parseInt(h.slice(i, i + 2), 16);
  const alpha = h.length === 8 ? v(6) / 255 : 1;
  return `rgba(${v(0)}, ${v(2)}, ${v(4)}, ${Number(alpha.toFixed(4))})`;
}

/**
 * Fill colour of a plot: the legend's stops interpolated linearly in RGB and clamped at the
 * ends (as models.indices.rendering.Colormap does), the no-data colour without a value.
 */
function fillColor(spec) {
  const value = ["get", spec.tile_property];
  const ramp = ["interpolate", ["linear"], ["to-number", value]];
  for (const stop of spec.legend.stops) ramp.push(stop.value, cssColor(stop.color));
  return ["case", ["has", spec.tile_property], ramp, cssColor(spec.legend.nodata.color)];
}

// --- legend and switches ----------------------------------------------------------------

export function renderLegend(spec) {
  const legend = spec.legend;
  const stops = legend.stops;
  const low = stops[0].value;
  const span = stops[stops.length - 1].value - low;
  const at = (v) => ((v - low) / span) * 100;
  $("legend-title").textContent = legend.title;
  $("legend-ramp").style.background =
    "linear-gradient(to right, " +
    stops.map((s) => `${s.color} ${at(s.value).toFixed(2)}%`).join(", ") +
    ")";
  const ticks = $("legend-ticks");
  ticks.replaceChildren();
  stops.forEach((stop, i) => {
    const tick = document.createElement("span");
    tick.className = "tick" + (i === 0 ? " first" : i === stops.length - 1 ? " last" : "");
    tick.style.left = `${at(stop.value)}%`;
    tick.textContent = String(stop.value);
    ticks.append(tick);
  });
  $("legend-low").textContent = stops[0].label || "";
  $("legend-high").textContent = stops[stops.length - 1].label || "";
  $("legend-nodata-swatch").style.background = cssColor(legend.nodata.color);
  $("legend-nodata-label").textContent = legend.nodata.label;
}

export function renderIndexSwitch() {
  const nav = $("index-switch");
  nav.replaceChildren();
  for (const spec of state.indices) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = spec.short_name;
    button.title = spec.label;
    button.dataset.index = spec.name;
    button.setAttribute("aria-pressed", String(spec === state.index));
    button.addEventListener("click", () => setIndex(spec));
    nav.append(button);
  }
}

function setIndex(spec) {
  state.index = spec;
  for (const button of $("index-switch").querySelectorAll("button")) {
    button.setAttribute("aria-pressed", String(button.dataset.index === spec.name));
  }
  renderLegend(spec);
  if (state.map && state.map.getLayer(FILL_LAYER)) {
    state.map.setPaintProperty(FILL_LAYER, "fill-color", fillColor(spec));
  }
  if (!state.scenePinned) state.scene = defaultScene();
  markScenes();
  updateRasters();
  const url = new URL(window.location.href);
  url.searchParams.set("index", spec.short_name);
  window.history.replaceState(null, "", url);
  if (state.plot) showPlot(state.plot);
}
export function fillOpacity() {
  return state.seeThrough ? SEE_THROUGH_OPACITY : 1;
}

export function addPlotLayers(map, tilejson) {
  state.plotTiles = tilejson.tiles;
  map.addSource(PLOTS_SOURCE, {
    type: "vector",
    tiles: tilejson.tiles,
    minzoom: tilejson.minzoom,
    maxzoom: tilejson.maxzoom,
    bounds: tilejson.bounds,
  });
  map.addLayer({
    id: FILL_LAYER,
    type: "fill",
    source: PLOTS_SOURCE,
    "source-layer": PLOTS_LAYER,
    paint: { "fill-color": fillColor(state.index), "fill-opacity": fillOpacity() },
  });
  map.addLayer({
    id: OUTLINE_LAYER,
    type: "line",
    source: PLOTS_SOURCE,
    "source-layer": PLOTS_LAYER,
    paint: {
      "line-color": "#2b3a2f",
      "line-width": ["interpolate", ["linear"], ["zoom"], 12, 0.4, 17, 1.2],
    },
  });
  map.addLayer({
    id: SELECTED_LAYER,
    type: "line",
    source: PLOTS_SOURCE,
    "source-layer": PLOTS_LAYER,
    filter: ["==", ["id"], -1],
    paint: { "line-color": "#0b3d91", "line-width": 3 },
  });
}

// --- plot card and chart ----------------------------------------------------------------

function addAttr(list, key, value) {
  const dt = document.createElement("dt");
  dt.textContent = tr(key);
  const dd = document.createElement("dd");
  dd.textContent = value === null || value === undefined || value === "" ? tr("web_unknown") : value;
  list.append(dt, dd);
}

export function closePlot() {
  state.plot = null;
  state.plotRequest += 1;
  $("plot-card").hidden = true;
  document.body.classList.remove("plot-open");
  if (state.map) state.map.setFilter(SELECTED_LAYER, ["==", ["id"], -1]);
}

/** Pan so that `point` (map pixels) is not hidden under the plot card. */
function keepVisible(point) {
  const map = state.map;
  const card = $("plot-card").getBoundingClientRect();
  const box = map.getContainer().getBoundingClientRect();
  const x = box.left + point.x;
  const y = box.top + point.y;
  if (x < card.left || x > card.right || y < card.top || y > card.bottom) return;
  if (PHONE.matches) {
    map.panBy([0, y - (box.top + (card.top - box.top) / 2)], { duration: 300 });
  } else {
    map.panBy([x - (box.left + (card.left - box.left) / 2), 0], { duration: 300 });
  }
}

export async function showPlot(plot, point) {
  state.plot = plot;
  const request = ++state.plotRequest;
  const spec = state.index;
  state.map.setFilter(SELECTED_LAYER, ["==", ["id"], plot.id]);
  const card = $("plot-card");
  card.hidden = false;
  document.body.classList.add("plot-open");
  if (point) keepVisible(point);
  $("plot-title").textContent = plot.properties.name || plot.properties.code || tr("web_plot");
  $("chart-title").textContent = tr("web_chart_title", { index: spec.short_name });
  card.dataset.loading = "true";
  try {
    const [feature, series] = await Promise.all([
      getJSON(`/api/plots/${plot.id}`, { lang: state.lang }),
      getJSON(`/api/plots/${plot.id}/indices`, {
        index: spec.name,
        include_flagged: "true",
        lang: state.lang,
      }),
    ]);
    if (request !== state.plotRequest) return; // another plot or index was chosen meanwhile
    renderAttributes(feature, plot, spec);
    renderChart(series, spec);
    showStatus("");
  } catch (error) {
    if (request !== state.plotRequest) return;
    showStatus(tr("web_load_failed", { what: tr("web_plot") }));
    console.error(error);
  } finally {
    if (request === state.plotRequest) delete card.dataset.loading;
  }
}

function renderAttributes(feature, plot, spec) {
  const p = feature.properties;
  $("plot-title").textContent = p.name || p.code;
  const list = $("plot-attrs");
  list.replaceChildren();
  addAttr(list, "web_plot_code", p.code);
  if (p.name) addAttr(list, "web_plot_name", p.name);
  addAttr(list, "web_plot_owner", p.owner);
  addAttr(list, "web_plot_area", tr("web_area_value", { mu: p.area_mu, ha: p.area_ha }));
  addAttr(list, "web_plot_village", p.village ? p.village.name : p.village_name);
  const latest = plot.properties[spec.tile_property];
  addAttr(
    list,
    "web_plot_latest",
    latest === undefined
      ? tr("web_no_value")
      : tr("web_value_on_date", {
          value: `${spec.short_name} ${formatNumber(latest, 2)}`,
          date: plot.properties[spec.tile_date_property],
        }),
  );
}
