/** The dashboard's simplex view: p on the 2-simplex of the notes' Figure 1, and its renormalisation. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CORNERS, UNIT_POINT, barycentricToPoint, decisionBoundaries, regionOf, renormalise, simplexPoint, type Point2,
} from '../src/ui/simplex.js';

const dist = (a: Point2, b: Point2) => Math.hypot(a.x - b.x, a.y - b.y);
const centroid = { x: (CORNERS[0].x + CORNERS[1].x + CORNERS[2].x) / 3, y: (CORNERS[0].y + CORNERS[1].y + CORNERS[2].y) / 3 };

describe('simplex mapping', () => {
  it('places a confidently classified point next to its class corner', () => {
    for (let k = 0; k < 3; k++) {
      const p = [0.005, 0.005, 0.005];
      p[k] = 0.99;
      const at = simplexPoint(p)!;
      assert.ok(dist(at, CORNERS[k]) < 0.02, `class ${k}: ${JSON.stringify(at)} vs corner ${JSON.stringify(CORNERS[k])}`);
      for (let j = 0; j < 3; j++) if (j !== k) assert.ok(dist(at, CORNERS[j]) > 0.9);
    }
    assert.deepEqual(simplexPoint([1, 0, 0]), CORNERS[0]);
  });

  it('places p = (1/3, 1/3, 1/3) at the centre, the unit point 1/e where the decision regions meet', () => {
    const at = simplexPoint([1 / 3, 1 / 3, 1 / 3])!;
    assert.ok(dist(at, centroid) < 1e-12, JSON.stringify(at));
    assert.ok(dist(UNIT_POINT, centroid) < 1e-12);
    // The corners make an equilateral triangle of side 1, so the centre is equidistant from all three.
    for (const c of CORNERS) assert.ok(Math.abs(dist(at, c) - 1 / Math.sqrt(3)) < 1e-12);
  });

  it('is the barycentric map: edges, midpoints and linearity', () => {
    const mid = simplexPoint([0.5, 0.5, 0])!;
    assert.ok(dist(mid, { x: 0.5, y: 0 }) < 1e-12);
    const a = [0.2, 0.3, 0.5], b = [0.6, 0.1, 0.3];
    const pa = simplexPoint(a)!, pb = simplexPoint(b)!, pm = simplexPoint(a.map((v, i) => (v + b[i]) / 2))!;
    assert.ok(dist(pm, { x: (pa.x + pb.x) / 2, y: (pa.y + pb.y) / 2 }) < 1e-12);
  });

  it('draws the decision boundaries from 1/e to the edge midpoints, where p_i = p_j', () => {
    const segs = decisionBoundaries();
    assert.equal(segs.length, 3);
    for (const s of segs) {
      assert.ok(dist(s.from, UNIT_POINT) < 1e-12);
      const [i, j] = s.between;
      assert.ok(dist(s.to, { x: (CORNERS[i].x + CORNERS[j].x) / 2, y: (CORNERS[i].y + CORNERS[j].y) / 2 }) < 1e-12);
      // A point on the segment has q_i = q_j ≥ q_k: it is on the boundary of both regions.
      const q = [0, 0, 0];
      q[i] = q[j] = 0.4;
      q[3 - i - j] = 0.2;
      const on = barycentricToPoint(q);
      const cross = (s.to.x - s.from.x) * (on.y - s.from.y) - (s.to.y - s.from.y) * (on.x - s.from.x);
      assert.ok(Math.abs(cross) < 1e-12, `point ${JSON.stringify(on)} is off the segment between ${i} and ${j}`);
    }
    assert.equal(regionOf([0.5, 0.3, 0.2]), 0);
    assert.equal(regionOf([0.1, 0.3, 0.6]), 2);
  });

  it('renormalises p over three chosen classes when there are more', () => {
    const p = [0.1, 0.2, 0.05, 0.4, 0.25];
    const q = renormalise(p, [1, 3, 4])!;
    const s = 0.2 + 0.4 + 0.25;
    assert.deepEqual(q.map((v) => +v.toFixed(12)), [0.2 / s, 0.4 / s, 0.25 / s].map((v) => +v.toFixed(12)));
    assert.ok(Math.abs(q[0] + q[1] + q[2] - 1) < 1e-12);
    // The order of the chosen classes picks the corners.
    const at = simplexPoint(p, [1, 3, 4])!;
    assert.ok(dist(at, barycentricToPoint([0.2, 0.4, 0.25])) < 1e-12);
    // A point sure of class 3 among ten lands at class 3's corner when 3 is chosen second.
    const sure = new Array(10).fill(0.001);
    sure[3] = 0.991;
    assert.ok(dist(simplexPoint(sure, [7, 3, 0])!, CORNERS[1]) < 0.01);
    // Equal mass over the three chosen classes: the centre, whatever the other classes hold.
    assert.ok(dist(simplexPoint([0.3, 0.1, 0.1, 0.4, 0.1], [1, 2, 4])!, centroid) < 1e-12);
  });

  it('refuses what cannot be placed', () => {
    assert.equal(renormalise([0, 0, 0, 1], [0, 1, 2]), null);
    assert.equal(renormalise([NaN, 0.5, 0.5], [0, 1, 2]), null);
    assert.equal(simplexPoint([-0.1, 0.6, 0.5]), null);
    assert.throws(() => renormalise([0.2, 0.3, 0.5], [0, 0, 1]), /three different classes/);
    assert.throws(() => renormalise([0.2, 0.3, 0.5], [0, 1, 3]), /out of range/);
  });
});
