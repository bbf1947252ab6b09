import { useEffect, useRef } from "react";
import uPlot from "uplot";
import type { Chart } from "@tessera/console";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];

/** The samples with no sample on either side, which a line cannot draw (a fresh instance's first ones). */
function isolated(values: (number | null)[]): number[] {
  return values.flatMap((v, i) => (v !== null && values[i - 1] == null && values[i + 1] == null ? [i] : []));
}

/** One time-series chart, a line per instance (or replica); isolated samples show as points. */
export function TimeChart({ chart }: { chart: Chart }) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!container.current || chart.lines.length === 0) return;
    const plot = new uPlot(
      {
        width: 460,
        height: 200,
        series: [
          {},
          ...chart.lines.map((line, i) => {
            const color = COLORS[i % COLORS.length];
            return {
              label: line.label,
              stroke: color,
              points: { show: true, size: 6, fill: color, filter: isolated(line.values) },
            };
          }),
        ],
        axes: [{}, { size: 60 }],
      },
      [chart.times, ...chart.lines.map((line) => line.values)],
      container.current,
    );
    return () => plot.destroy();
  }, [chart]);
  return (
    <figure className="chart">
      <figcaption>{chart.title}</figcaption>
      {chart.lines.length === 0 ? (
        <p className="muted">No samples in this range.</p>
      ) : (
        <div ref={container} />
      )}
    </figure>
  );
}
