/*
 * The index time series of the clicked plot: an ECharts chart of the clear means, the flagged
 * observations as separate symbols and ± std whiskers.
 */
import { $, state } from "./common.js";
import { formatNumber, tr } from "./i18n.js";

const FONT = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", sans-serif';
// Legend icon of the ± std whiskers: a bar with caps (path icons are filled shapes).
const STD_ICON = "path://M4.4,0h1.2v10h-1.2z M1,0h8v1.2h-8z M1,8.8h8v1.2h-8z";

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

export function renderChart(series, spec) {
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
