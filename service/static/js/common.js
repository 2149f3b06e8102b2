/*
 * State and helpers every module of the web map shares: the page state, element lookup, JSON
 * requests to this server, the ids of our map sources and layers, and the map's padding.
 */

export const PLOTS_SOURCE = "plots";
export const PLOTS_LAYER = "plots"; // the layer inside the vector tiles
export const FILL_LAYER = "plots-fill";
export const OUTLINE_LAYER = "plots-outline";
export const SELECTED_LAYER = "plots-selected";
export const INDEX_RASTER = "scene-index"; // source and layer of the active scene's index raster
export const TRUECOLOR_RASTER = "scene-truecolor"; // source and layer of its true-colour image
export const PHONE = window.matchMedia("(max-width: 720px)");

export const params = new URLSearchParams(window.location.search);
export const state = {
  lang: null,
  messages: {},
  indices: [],
  index: null,
  map: null,
  chart: null,
  plot: null, // {id, properties} of the clicked plot (properties from the vector tile)
  plotRequest: 0,
  scenes: [], // /api/scenes features, newest first
  scene: null, // the active scene (a feature of `scenes`) or null
  scenePinned: false, // a date was clicked: keep that scene when the index changes
  plotsMinZoom: 0, // shallowest zoom of the plot tiles (TileJSON)
  truecolor: false,
  seeThrough: false,
  basemap: true, // the configured basemap (Tianditu) is shown
  rasterURLs: {}, // tilejson.json URL each raster layer shows
  plotTiles: [], // the plot TileJSON's URL templates (latest values)
};

export const $ = (id) => document.getElementById(id);

export async function getJSON(path, query) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null) url.searchParams.set(name, value);
  }
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (response.status === 401 && !window.location.pathname.startsWith("/login")) {
    // The session ended (logout elsewhere, expiry): log in again, then come back here.
    const here = window.location.pathname + window.location.search;
    window.location.assign(`/login?next=${encodeURIComponent(here)}`);
  }
  if (!response.ok) throw new Error(`${response.status} ${url.pathname}`);
  return response.json();
}

/** Room the floating panel takes from the map, so plots are fitted beside it. */
export function fitPadding() {
  const padding = { top: 24, right: 24, bottom: 24, left: 24 };
  const map = $("map").getBoundingClientRect();
  const panel = $("panel").getBoundingClientRect();
  if (panel.width < map.width / 2) padding.left = Math.max(24, panel.right - map.left + 16);
  else padding.bottom = Math.max(24, map.bottom - panel.top + 16);
  // Never more padding than the map can give (tiny windows).
  padding.left = Math.min(padding.left, map.width * 0.6);
  padding.bottom = Math.min(padding.bottom, map.height * 0.6);
  return padding;
}
