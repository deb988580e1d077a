/** FNV-1a over the string's UTF-16 code units, as an int32 (what Math.imul gives and an Int32Array keeps). */
export function stringHash(s: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}
