/** A uPlot line chart of per-day series, with the same numbers as a table for screen readers. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ScrollBox } from './ui';

export interface Series {
  label: string;
  values: number[];
  color: string;
}

/** A number at most four significant digits long (uPlot's default rounds 0.0004 to "0"). */
export const shortNumber = (value: number): string => String(Number(value.toPrecision(4)));

/** Counts are whole: the y axis never steps by 0.2 calls. */
const WHOLE_STEPS = Array.from({ length: 10 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();

export function LineChart({
  title,
  days,
  series,
  format = shortNumber,
  whole = false,
}: {
  title: string;
  days: string[];
  series: Series[];
  /** How a value reads on the y axis and in the table. */
  format?: (value: number) => string;
  /** The values are counts. */
  whole?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = days.map((d) => Date.parse(`${d.slice(0, 10)}T00:00:00Z`) / 1000);
    const plot = new uPlot(
      {
        width: Math.max(el.clientWidth, 280),
        height: 220,
        series: [
          {},
          ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: true } })),
        ],
        axes: [
          { stroke: 'currentColor' },
          {
            stroke: 'currentColor',
            values: (_u: uPlot, splits: number[]) => splits.map((v) => format(v)),
            // Wide enough for the longest label (about 7 px a character at the axis font, plus the ticks).
            size: (_u: uPlot, values: string[] | null) =>
              Math.max(40, ...(values ?? []).map((v) => v.length * 7 + 18)),
            ...(whole ? { incrs: WHOLE_STEPS } : {}),
          },
        ],
        scales: { x: { time: true } },
        legend: { live: false },
      },
      [xs, ...series.map((s) => s.values)],
      el,
    );
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(el.clientWidth, 280), height: 220 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [days, series]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div
        ref={box}
        class="chart-box"
        role="img"
        aria-label={`${title}: chart, the table below has the numbers`}
      />
      <details>
        <summary>{title} as a table</summary>
        <ScrollBox label={`${title} as a table`}>
          <table>
            <thead>
              <tr>
                <th scope="col">Day</th>
                {series.map((s) => (
                  <th scope="col" key={s.label}>
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {days.map((d, i) => (
                <tr key={d}>
                  <th scope="row">{d.slice(0, 10)}</th>
                  {series.map((s) => (
                    <td key={s.label}>{format(s.values[i] ?? 0)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollBox>
      </details>
    </figure>
  );
}
