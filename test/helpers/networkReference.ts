/**
 * Independent float64 references for the network tests: forward passes of the two network
 * families (a ReLU MLP; cnn:small's conv → pool → conv → pool → dense) written from scratch on
 * plain arrays, with nothing imported from main/ or tfjs, and the mean −log softmax loss. Finite
 * differences of these losses check the engine's autodiff gradients.
 *
 * θ follows the engine's documented parameter order: per layer the kernel, then the bias; Dense
 * kernel [in, out] row-major, Conv2D kernel [h, w, cin, cout] row-major. Images are HWC.
 */

/** Mean −log softmax(z)_y over rows of an n×C logit array. */
export function meanNllRef(logits: number[][], labels: number[]): number {
  let total = 0;
  logits.forEach((z, i) => {
    const max = Math.max(...z);
    const lse = max + Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0));
    total += lse - (z[labels[i] as number] as number);
  });
  return total / logits.length;
}

/** Dense layer: y_o = b_o + Σ_i x_i·W[i, o], W read from θ at `offset`; returns the next offset. */
function dense(theta: ArrayLike<number>, offset: number, x: number[], units: number, relu: boolean): { y: number[]; offset: number } {
  const inputs = x.length;
  const bias = offset + inputs * units;
  const y: number[] = [];
  for (let o = 0; o < units; o++) {
    let s = theta[bias + o] as number;
    for (let i = 0; i < inputs; i++) s += (x[i] as number) * (theta[offset + i * units + o] as number);
    y.push(relu ? Math.max(0, s) : s);
  }
  return { y, offset: bias + units };
}

/** Logits of a ReLU MLP with the given hidden widths and C outputs. */
export function mlpLogitsRef(theta: ArrayLike<number>, x: number[], hidden: number[], C: number): number[] {
  let h = x;
  let offset = 0;
  for (const units of hidden) ({ y: h, offset } = dense(theta, offset, h, units, true));
  return dense(theta, offset, h, C, false).y;
}

/** Number of parameters of mlpLogitsRef's network. */
export function mlpParamCount(d: number, hidden: number[], C: number): number {
  let p = 0;
  let fan = d;
  for (const units of [...hidden, C]) {
    p += fan * units + units;
    fan = units;
  }
  return p;
}

type Image = { h: number; w: number; c: number; v: number[] };

/** 'valid' 3×3 convolution with stride 1, ReLU, kernel [3, 3, cin, cout] at `offset`. */
function conv3x3Relu(theta: ArrayLike<number>, offset: number, img: Image, filters: number): { img: Image; offset: number } {
  const { h, w, c } = img;
  const oh = h - 2;
  const ow = w - 2;
  const bias = offset + 9 * c * filters;
  const v = new Array<number>(oh * ow * filters).fill(0);
  for (let r = 0; r < oh; r++) {
    for (let s = 0; s < ow; s++) {
      for (let f = 0; f < filters; f++) {
        let acc = theta[bias + f] as number;
        for (let a = 0; a < 3; a++) {
          for (let b = 0; b < 3; b++) {
            for (let ci = 0; ci < c; ci++) {
              const xv = img.v[((r + a) * w + (s + b)) * c + ci] as number;
              acc += xv * (theta[offset + ((a * 3 + b) * c + ci) * filters + f] as number);
            }
          }
        }
        v[(r * ow + s) * filters + f] = Math.max(0, acc);
      }
    }
  }
  return { img: { h: oh, w: ow, c: filters, v }, offset: bias + filters };
}

/** 2×2 max pooling, stride 2, 'valid' (odd edges dropped). */
function maxPool2(img: Image): Image {
  const oh = Math.floor(img.h / 2);
  const ow = Math.floor(img.w / 2);
  const v: number[] = [];
  for (let r = 0; r < oh; r++) {
    for (let s = 0; s < ow; s++) {
      for (let ci = 0; ci < img.c; ci++) {
        let m = -Infinity;
        for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) m = Math.max(m, img.v[((2 * r + a) * img.w + (2 * s + b)) * img.c + ci] as number);
        v.push(m);
      }
    }
  }
  return { h: oh, w: ow, c: img.c, v };
}

/** Logits of cnn:small (8 and 16 filters) on an h×w×c image given as HWC values. */
export function cnnSmallLogitsRef(theta: ArrayLike<number>, x: number[], h: number, w: number, c: number, C: number): number[] {
  let img: Image = { h, w, c, v: x };
  let offset = 0;
  ({ img, offset } = conv3x3Relu(theta, offset, img, 8));
  img = maxPool2(img);
  ({ img, offset } = conv3x3Relu(theta, offset, img, 16));
  img = maxPool2(img);
  return dense(theta, offset, img.v, C, false).y;
}

/**
 * Central finite differences of f at θ in float64: (f(θ + h·e_i) − f(θ − h·e_i)) / 2h for every i.
 * Truncation error O(h²·f'''), rounding error O(u64·|f|/h).
 */
export function finiteDifferenceGradient(f: (theta: Float64Array) => number, theta: Float64Array, h: number): Float64Array {
  const g = new Float64Array(theta.length);
  const work = Float64Array.from(theta);
  for (let i = 0; i < theta.length; i++) {
    const t = theta[i] as number;
    work[i] = t + h;
    const up = f(work);
    work[i] = t - h;
    const down = f(work);
    work[i] = t;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}
