import { useEffect, useRef } from "react";
import uPlot from "uplot";
import type { Chart } from "@tessera/console";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];

/** One time-series chart, a line per instance (or replica). */
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
          ...chart.lines.map((line, i) => ({ label: line.label, stroke: COLORS[i % COLORS.length] })),
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
