/**
 * Second-level ("EPT") trap bits per guest-physical frame (SDM Vol. 3C §28.3 "The Extended Page
 * Table Mechanism"): the hidden hooks and monitors of SPEC §2.1 work by removing a permission from
 * a page, so the guest's own code bytes are never patched and a guest that reads or checksums its
 * code sees the original bytes.
 *
 * Every owner (an event, a debugger breakpoint) registers the frames it needs with the bits it needs;
 * the shared `ept` byte array is the OR of all owners, recomputed for the touched frames on every
 * change so add/clear in any order leaves no stale bit behind.
 *
 * Sharing rules (SPEC §2.1): several `!epthook` may share a page; a `!monitor` or `!epthook2` page
 * may not be shared with any other hook (E_HOOK_CONFLICT). Debugger breakpoints are the debugger's
 * own business and share with anything.
 */
import { HvdbgError } from '@hvdbg/protocol';

export const EPT_OWNER_SHARED = 0;
export const EPT_OWNER_EXCLUSIVE = 1;
export const EPT_OWNER_DEBUGGER = 2;

interface Owner {
  frames: readonly number[];
  bits: number;
  sharing: number;
}

export class EptManager {
  private readonly owners = new Map<string, Owner>();
  /** Called after the trap bits changed: cached translations (TLBs) must be dropped. */
  onChange: () => void = () => {};

  constructor(readonly ept: Uint8Array) {}

  /** Throws E_HOOK_CONFLICT if an owner with this sharing class cannot take these frames. */
  check(frames: readonly number[], sharing: number): void {
    if (sharing === EPT_OWNER_DEBUGGER) return;
    for (const f of frames) {
      if (f < 0 || f >= this.ept.length)
        throw new HvdbgError('E_BAD_ADDRESS', `physical frame 0x${f.toString(16)} is outside guest memory`);
    }
    const wanted = new Set(frames);
    for (const [key, o] of this.owners) {
      if (o.sharing === EPT_OWNER_DEBUGGER) continue;
      if (sharing === EPT_OWNER_SHARED && o.sharing === EPT_OWNER_SHARED) continue;
      for (const f of o.frames) {
        if (wanted.has(f)) {
          throw new HvdbgError(
            'E_HOOK_CONFLICT',
            `page 0x${(f * 4096).toString(16)} is already hooked by ${describeOwner(key)}; a !monitor or !epthook2 page cannot be shared`,
          );
        }
      }
    }
  }

  add(key: string, frames: readonly number[], bits: number, sharing: number): void {
    this.check(frames, sharing);
    this.owners.set(key, { frames, bits, sharing });
    for (const f of frames) this.ept[f]! |= bits;
    this.onChange();
  }

  remove(key: string): void {
    const o = this.owners.get(key);
    if (o === undefined) return;
    this.owners.delete(key);
    this.recompute(o.frames);
    this.onChange();
  }

  /** Frames a physical byte range [start, end] (inclusive) covers. */
  static framesOf(start: number, end: number): number[] {
    const out: number[] = [];
    for (let f = Math.floor(start / 4096); f <= Math.floor(end / 4096); f++) out.push(f);
    return out;
  }

  private recompute(frames: readonly number[]): void {
    for (const f of frames) this.ept[f] = 0;
    const touched = new Set(frames);
    for (const o of this.owners.values()) {
      for (const f of o.frames) if (touched.has(f)) this.ept[f]! |= o.bits;
    }
  }
}

function describeOwner(key: string): string {
  const id = Number(key.slice(1));
  return key[0] === 'b' ? `breakpoint ${id}` : `event 0x${id.toString(16)}`;
}
