const Q_VALUE = /^\s*q\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)\s*$/i;

/**
 * The q-value of each element of an Accept-style header (Accept, Accept-Encoding; RFC 9110 section 12.4.2), by its
 * lowercased name: 1 without a q parameter, the first element of a name counts, and an element whose q-value is
 * malformed is ignored, as the RFC lets a server do. Other parameters are not read.
 */
export function qValues(header: string): Map<string, number> {
  const q = new Map<string, number>();
  for (const element of header.split(',')) {
    const [rawName, ...params] = element.split(';');
    const name = rawName.trim().toLowerCase();
    if (!name || q.has(name)) continue;
    let value = 1;
    let valid = true;
    for (const p of params) {
      const m = Q_VALUE.exec(p);
      if (m) value = Number(m[1]);
      else if (/^\s*q\s*=/i.test(p)) valid = false;
    }
    if (valid) q.set(name, value);
  }
  return q;
}
