/*
 * SkyGround web map: plots coloured by their latest clear index value, a legend, the list of
 * acquisition dates and, for a clicked plot, its attributes and index time series.
 *
 * Everything comes from this server: MapLibre GL JS and ECharts from /static/vendor (classic
 * scripts loaded before this module), plots from /tiles/plots.json, the legend from
 * /api/indices and every text from /api/ui-messages. The only other host the page may reach is
 * Tianditu, when the server configures its basemap (map.js).
 *
 * Modules: common.js (state, helpers), i18n.js (texts), map.js (map, basemap), plots.js (plot
 * layers, legend, card), chart.js (series chart), scenes.js (date list, scene rasters).
 *
 * For tests: window.skygroundMap is the MapLibre map; <body data-ready="true"> and the
 * "skyground:ready" event mark the plots layer loaded and the map idle; the scene list's
 * active item has aria-pressed="true" and <body data-scene> names the active scene id.
 */
import { $, FILL_LAYER, PHONE, getJSON, params, state } from "./common.js";
import { loadTexts, showStatus, tr } from "./i18n.js";
import { basemapLayers, createMap, showBasemap } from "./map.js";
import {
  closePlot,
  fillOpacity,
  findIndex,
  renderIndexSwitch,
  renderLegend,
} from "./plots.js";
import { renderScenes, unpinScene, updateRasters } from "./scenes.js";

const DEFAULT_INDEX = "NDVI";

/** The layer switches; a reload may keep the boxes ticked. */
function bindToggles() {
  state.truecolor = $("truecolor-toggle").checked;
  state.seeThrough = $("see-through-toggle").checked;
  $("truecolor-toggle").addEventListener("change", (event) => {
    state.truecolor = event.target.checked;
    updateRasters();
  });
  $("see-through-toggle").addEventListener("change", (event) => {
    state.seeThrough = event.target.checked;
    if (state.map && state.map.getLayer(FILL_LAYER)) {
      state.map.setPaintProperty(FILL_LAYER, "fill-opacity", fillOpacity());
    }
  });
  // The basemap switch exists only with a configured basemap (Tianditu).
  $("basemap-toggle-label").hidden = basemapLayers().length === 0;
  state.basemap = $("basemap-toggle").checked;
  $("basemap-toggle").addEventListener("change", (event) => showBasemap(event.target.checked));
}

/** Who is signed in, and the logout button (hidden for anonymous reading). */
async function showUser() {
  const me = await getJSON("/api/me", { lang: state.lang });
  if (me.via !== "session") return;
  $("user-name").textContent = me.username;
  $("user-box").title = tr("web_user_title", { username: me.username, role: me.role });
  $("user-box").hidden = false;
  $("logout").addEventListener("click", async () => {
    await fetch("/auth/logout", { method: "POST" });
    window.location.assign("/login");
  });
}

async function start() {
  await loadTexts();
  showStatus(tr("web_loading"));
  $("plot-close").addEventListener("click", closePlot);
  $("scene-latest").addEventListener("click", unpinScene);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closePlot();
  });
  if (PHONE.matches) $("scenes").open = false;
  bindToggles();
  showUser().catch((error) => console.error(error));

  const [catalogue, tilejson] = await Promise.all([
    getJSON("/api/indices", { platform: "sentinel2", lang: state.lang }),
    getJSON("/tiles/plots.json", { lang: state.lang }),
  ]);
  state.indices = catalogue.indices;
  state.index = findIndex(params.get("index")) || findIndex(DEFAULT_INDEX) || state.indices[0];
  renderIndexSwitch();
  renderLegend(state.index);
  createMap(tilejson);
  showStatus("");

  getJSON("/api/scenes", { limit: 100, lang: state.lang })
    .then(renderScenes)
    .catch((error) => {
      console.error(error);
      showStatus(tr("web_load_failed", { what: tr("web_scenes") }));
    });
}

start().catch((error) => {
  console.error(error);
  showStatus(state.lang ? tr("web_load_failed", { what: tr("web_title") }) : String(error));
});
