// Justified rows: where the rows of a grid break, so that every photo keeps its shape,
// every row but the last fills the width exactly, and rows stay near a target height.
// No DOM here: static/grid.js measures the grid and applies the rows.

/** The row height aimed at for a grid `width` px wide: about 4.5 landscape photos' worth
 * of a row's width, between 72 px (three photos or more a row on a phone) and 250 px. */
export function targetHeight(width) {
  return Math.min(250, Math.max(72, width / 4.5));
}

/**
 * Break photos of aspect ratios `ratios` (width / height) into rows `width` px wide,
 * `gap` px between tiles, close to `target` px high.
 *
 * Every break is chosen at once (the least total squared difference from the target,
 * as in Knuth and Plass's line breaking), so no row is left much taller or shorter
 * than the others. The last row is never stretched: it keeps the target height when it
 * cannot fill the width. A photo too wide for a row at half the target (a panorama) is
 * a row of its own, as wide as the row.
 *
 * @param {number[]} ratios
 * @param {number} width
 * @param {number} gap
 * @param {number} target
 * @returns {{start: number, end: number, height: number}[]} rows, `end` exclusive
 */
export function justify(ratios, width, gap, target) {
  const n = ratios.length;
  if (n === 0 || width <= 0) return [];
  const cost = new Float64Array(n + 1).fill(Infinity);
  const from = new Int32Array(n + 1);
  cost[0] = 0;
  for (let i = 0; i < n; i += 1) {
    if (cost[i] === Infinity) continue;
    let sum = 0;
    for (let j = i; j < n; j += 1) {
      sum += ratios[j];
      const count = j - i + 1;
      const height = (width - gap * (count - 1)) / sum;
      if (count > 1 && height < target / 2) break; // more would squash the row
      let penalty;
      if (j === n - 1 && height >= target) penalty = 0; // a last row keeps the target height
      else {
        const off = (height - target) / target;
        penalty = off * off * (height > target ? 1.5 : 1); // taller rows look emptier
      }
      if (cost[i] + penalty < cost[j + 1]) {
        cost[j + 1] = cost[i] + penalty;
        from[j + 1] = i;
      }
    }
  }
  const rows = [];
  for (let end = n; end > 0; end = from[end]) {
    const start = from[end];
    let sum = 0;
    for (let k = start; k < end; k += 1) sum += ratios[k];
    const fill = (width - gap * (end - start - 1)) / sum;
    rows.push({ start, end, height: end === n ? Math.min(fill, target) : fill });
  }
  return rows.reverse();
}
