/**
 * Reusable work buffers, by name, for a sequence of same-sized computations (the blocks of one
 * Fisher build): each block then writes into the previous block's buffers instead of allocating
 * some 25 MB afresh (d = 784). A buffer handed out stays valid until the same name is asked for
 * again. Without a workspace the functions allocate, as before.
 */
export class Workspace {
  private readonly f32s = new Map<string, Float32Array>();
  private readonly f64s = new Map<string, Float64Array>();

  f32(name: string, length: number, zero = false): Float32Array {
    let buf = this.f32s.get(name);
    if (!buf || buf.length < length) {
      buf = new Float32Array(length);
      this.f32s.set(name, buf);
      return buf.subarray(0, length);
    }
    const out = buf.subarray(0, length);
    if (zero) out.fill(0);
    return out;
  }

  f64(name: string, length: number, zero = false): Float64Array {
    let buf = this.f64s.get(name);
    if (!buf || buf.length < length) {
      buf = new Float64Array(length);
      this.f64s.set(name, buf);
      return buf.subarray(0, length);
    }
    const out = buf.subarray(0, length);
    if (zero) out.fill(0);
    return out;
  }

  /** Bytes held. */
  get bytes(): number {
    let s = 0;
    for (const b of this.f32s.values()) s += b.byteLength;
    for (const b of this.f64s.values()) s += b.byteLength;
    return s;
  }
}

/** From the workspace when there is one, else a fresh (zeroed) array. */
export function f32(ws: Workspace | undefined, name: string, length: number, zero = false): Float32Array {
  return ws ? ws.f32(name, length, zero) : new Float32Array(length);
}

export function f64(ws: Workspace | undefined, name: string, length: number, zero = false): Float64Array {
  return ws ? ws.f64(name, length, zero) : new Float64Array(length);
}
