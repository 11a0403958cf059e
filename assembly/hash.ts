/** The counter-based hash of src/core/rng.ts (hash32), bit for bit: uint32 arithmetic wraps as Math.imul does. */
@inline export function hash32(seed: u32, index: u32): u32 {
  let h: u32 = seed ^ (index * 0x9e3779b1);
  h = (h ^ (h >> 16)) * 0x85ebca6b;
  h = (h ^ (h >> 13)) * 0xc2b2ae35;
  return h ^ (h >> 16);
}
