/*
 * SkyGround web map: plots coloured by their latest clear index value, a legend, the list of
 * acquisition dates and, for a clicked plot, its attributes and index time series.
 *
 * Everything comes from this server: MapLibre GL JS and ECharts from /static/vendor, plots
 * from /tiles/plots.json, the legend from /api/indices and every text from
 * /api/ui-messages (the message catalogue, models/i18n/web.toml). No text is written here.
 * The style is built below and has no glyphs: no symbol layers, labels are HTML.
 *
 * Under the plots: the active scene's index raster and, when switched on, its true-colour
 * image (PNG tiles of /tiles/scenes/{scene}/{layer}/, described by their tilejson.json). The
 * active scene is the date clicked in the list, else the newest scene with the index's raster.
 *
 * For tests: window.skygroundMap is the MapLibre map; <body data-ready="true"> and the
 * "skyground:ready" event mark the plots layer loaded and the map idle; the scene list's
 * active item has aria-pressed="true" and <body data-scene> names the active scene id.
 */
(function () {
  "use strict";

  const DEFAULT_INDEX = "NDVI";
  const PLOTS_SOURCE = "plots";
  const PLOTS_LAYER = "plots"; // the layer inside the vector tiles
  const FILL_LAYER = "plots-fill";
  const OUTLINE_LAYER = "plots-outline";
  const SELECTED_LAYER = "plots-selected";
  const INDEX_RASTER = "scene-index"; // source and layer of the active scene's index raster
  const TRUECOLOR_RASTER = "scene-truecolor"; // source and layer of its true-colour image
  const TRUECOLOR = "truecolor"; // raster_assets kind of the true-colour image
  const SEE_THROUGH_OPACITY = 0.55;
  const INDEX_RASTER_OVER_IMAGE = 0.6; // index raster opacity with the true-colour image on
  const BACKGROUND = "#e9ece6";
  const PHONE = window.matchMedia("(max-width: 720px)");
  const FONT = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", sans-serif';
  // Legend icon of the ± std whiskers: a bar with caps (path icons are filled shapes).
  const STD_ICON = "path://M4.4,0h1.2v10h-1.2z M1,0h8v1.2h-8z M1,8.8h8v1.2h-8z";

  const params = new URLSearchParams(window.location.search);
  const state = {
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
    rasterURLs: {}, // tilejson.json URL each raster layer shows
  };

  const $ = (id) => document.getElementById(id);

  // --- text -------------------------------------------------------------------------------

  /** Catalogue text of `key` with `{name}` placeholders filled from `values`. */
  function tr(key, values) {
    const text = Object.prototype.hasOwnProperty.call(state.messages, key)
      ? state.messages[key]
      : key;
    return text.replace(/\{(\w+)\}/g, (whole, name) =>
      values && name in values ? String(values[name]) : whole,
    );
  }

  function applyTexts(root) {
    for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = tr(el.dataset.i18n);
    for (const el of root.querySelectorAll("[data-i18n-title]")) {
      el.title = tr(el.dataset.i18nTitle);
    }
    for (const el of root.querySelectorAll("[data-i18n-aria]")) {
      el.setAttribute("aria-label", tr(el.dataset.i18nAria));
    }
    document.title = tr("web_title");
  }

  function showStatus(text) {
    const el = $("status");
    el.textContent = text || "";
    el.hidden = !text;
  }

  function formatNumber(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return tr("web_no_value");
    return Number(value).toFixed(digits);
  }

  // --- data -------------------------------------------------------------------------------

  async function getJSON(path, query) {
    const url = new URL(path, window.location.origin);
    for (const [name, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, value);
    }
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status} ${url.pathname}`);
    return response.json();
  }

  function findIndex(name) {
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

  // --- basemap ----------------------------------------------------------------------------

  /**
   * Tianditu imagery and labels when a key is configured (meta skyground-tianditu-key);
   * off by default; our own true-colour layer (updateRasters) is drawn above it. Enabling it
   * also needs the Content-Security-Policy of service/routers/web.py to allow the host.
   */
  function basemap() {
    const meta = document.querySelector('meta[name="skyground-tianditu-key"]');
    const key = meta ? meta.content.trim() : "";
    const layers = [{ id: "background", type: "background", paint: { "background-color": BACKGROUND } }];
    const sources = {};
    if (!key) return { sources, layers };
    const wmts = (layer) =>
      [0, 1, 2, 3, 4, 5, 6, 7].map(
        (n) =>
          `https://t${n}.tianditu.gov.cn/${layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile` +
          `&VERSION=1.0.0&LAYER=${layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles` +
          `&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=${encodeURIComponent(key)}`,
      );
    for (const layer of ["img", "cia"]) {
      sources[`tianditu-${layer}`] = {
        type: "raster",
        tiles: wmts(layer),
        tileSize: 256,
        maxzoom: 18,
        attribution: "© 天地图 Tianditu",
      };
      layers.push({ id: `tianditu-${layer}`, type: "raster", source: `tianditu-${layer}` });
    }
    return { sources, layers };
  }

  // --- legend and switches ----------------------------------------------------------------

  function renderLegend(spec) {
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

  function renderIndexSwitch() {
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

  function renderScenes(collection) {
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

  // --- scenes and their rasters -----------------------------------------------------------

  function hasAsset(scene, kind) {
    const wanted = kind.toUpperCase();
    return (scene.properties.assets || []).some((a) => a.toUpperCase() === wanted);
  }

  /** The newest scene with a raster of the current index (null if none has one). */
  function defaultScene() {
    if (!state.index) return null;
    return state.scenes.find((scene) => hasAsset(scene, state.index.name)) || null;
  }

  function pickScene(scene) {
    state.scene = scene;
    state.scenePinned = true;
    markScenes();
    updateRasters();
    if (!viewShowsScene(scene)) showSceneArea(scene);
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
  function markScenes() {
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
  function updateRasters() {
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

  // --- plot card and chart ----------------------------------------------------------------

  function addAttr(list, key, value) {
    const dt = document.createElement("dt");
    dt.textContent = tr(key);
    const dd = document.createElement("dd");
    dd.textContent = value === null || value === undefined || value === "" ? tr("web_unknown") : value;
    list.append(dt, dd);
  }

  function closePlot() {
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

  async function showPlot(plot, point) {
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

  function tooltip(params) {
    const o = params.data && params.data.obs;
    if (!o) return "";
    const esc = window.echarts.format.encodeHTML;
    const rows = [
      `<strong>${esc(o.date)}</strong>`,
      `${esc(tr("web_chart_mean"))}: ${formatNumber(o.mean, 3)}`,
      `${esc(tr("web_chart_std"))}: ${formatNumber(o.std, 3)}`,
      `${esc(tr("web_chart_clear"))}: ${Math.round(o.clear_fraction * 100)}%`,
    ];
    if (o.flagged) {
      rows.push(`${esc(tr("web_chart_flagged"))}: ${esc(o.flag_reason || "")}`);
    }
    return rows.join("<br>");
  }

  function renderChart(series, spec) {
    const el = $("chart");
    const empty = $("chart-empty");
    const observations = series.observations.filter((o) => o.mean !== null);
    el.hidden = observations.length === 0;
    empty.hidden = observations.length !== 0;
    empty.textContent = tr("web_chart_empty", { index: spec.short_name });
    if (!state.chart) {
      // ECharts' own words (month names on the time axis) in the page's language.
      const locale = state.lang === "en" ? "EN" : "ZH";
      state.chart = window.echarts.init(el, null, { renderer: "canvas", locale });
      window.addEventListener("resize", () => state.chart.resize());
    }
    state.chart.resize();
    const mean = tr("web_chart_mean");
    const std = tr("web_chart_std");
    const flagged = tr("web_chart_flagged");
    const green = "#1a7f3c";
    const red = "#d7301f";
    const clearPoints = observations
      .filter((o) => !o.flagged)
      .map((o) => ({ value: [o.date, o.mean], obs: o }));
    const flaggedPoints = observations
      .filter((o) => o.flagged)
      .map((o) => ({ value: [o.date, o.mean], obs: o }));
    const whiskers = observations.map((o) => {
      const s = o.std === null ? 0 : o.std;
      return { value: [o.date, o.mean - s, o.mean + s], flagged: o.flagged };
    });
    state.chart.setOption(
      {
        textStyle: { fontFamily: FONT },
        animation: false,
        grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
        legend: {
          top: 0,
          data: [mean, { name: std, icon: STD_ICON }, flagged],
          textStyle: { fontFamily: FONT },
        },
        tooltip: { trigger: "item", formatter: tooltip, textStyle: { fontFamily: FONT } },
        xAxis: { type: "time", axisLabel: { hideOverlap: true } },
        yAxis: { type: "value", scale: true },
        series: [
          {
            id: "std",
            name: std,
            type: "custom",
            data: whiskers,
            encode: { x: 0, y: [1, 2] },
            silent: true,
            z: 1,
            itemStyle: { color: "#7a8a80" },
            renderItem: (params, api) => {
              const low = api.coord([api.value(0), api.value(1)]);
              const high = api.coord([api.value(0), api.value(2)]);
              const cap = 4;
              const style = { stroke: "#7a8a80", lineWidth: 1.2 };
              return {
                type: "group",
                children: [
                  { type: "line", shape: { x1: low[0], y1: low[1], x2: high[0], y2: high[1] }, style },
                  { type: "line", shape: { x1: low[0] - cap, y1: low[1], x2: low[0] + cap, y2: low[1] }, style },
                  { type: "line", shape: { x1: high[0] - cap, y1: high[1], x2: high[0] + cap, y2: high[1] }, style },
                ],
              };
            },
          },
          {
            id: "mean",
            name: mean,
            type: "line",
            data: clearPoints,
            symbol: "circle",
            symbolSize: 7,
            z: 3,
            lineStyle: { color: green, width: 2 },
            itemStyle: { color: green },
          },
          {
            id: "flagged",
            name: flagged,
            type: "scatter",
            data: flaggedPoints,
            symbol: "triangle",
            symbolSize: 12,
            z: 4,
            itemStyle: { color: "#ffffff", borderColor: red, borderWidth: 2 },
          },
        ],
      },
      { notMerge: true },
    );
  }

  // --- map --------------------------------------------------------------------------------

  /** Room the floating panel takes from the map, so plots are fitted beside it. */
  function fitPadding() {
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

  function fillOpacity() {
    return state.seeThrough ? SEE_THROUGH_OPACITY : 1;
  }

  function addPlotLayers(map, tilejson) {
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

  function createMap(tilejson) {
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
    map.on("error", (event) => console.error(event.error || event));
    return map;
  }

  // --- start ------------------------------------------------------------------------------

  async function start() {
    const asked = params.get("lang");
    const ui = await getJSON("/api/ui-messages", asked ? { lang: asked } : {});
    state.lang = ui.lang;
    state.messages = ui.messages;
    document.documentElement.lang = state.lang;
    applyTexts(document);
    showStatus(tr("web_loading"));

    $("lang-switch").addEventListener("click", () => {
      const url = new URL(window.location.href);
      url.searchParams.set("lang", state.lang === "en" ? "zh-CN" : "en");
      window.location.assign(url);
    });
    $("plot-close").addEventListener("click", closePlot);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") closePlot();
    });
    if (PHONE.matches) $("scenes").open = false;
    state.truecolor = $("truecolor-toggle").checked; // a reload may keep the boxes ticked
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
})();
