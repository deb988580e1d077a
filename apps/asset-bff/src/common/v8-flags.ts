/**
 * V8 lets the old generation grow to up to four times what the last major GC left alive, and keeps the pages it grew
 * to: a fault that raised the allocation rate for a minute raised RSS for good while the live heap stayed the same. A
 * fixed factor of two keeps RSS lower and steadier, at a hot-read cost within the bench's spread (bench/README, "Memory").
 */
const HEAP_GROWING_PERCENT = 100;

/**
 * The V8 options the service sets at start, by name. Allocation-site pretenuring off: once most objects of an object
 * literal survived a scavenge, V8 allocates that literal in the old generation from then on. A warm-up's long-lived
 * objects could so decide for literals every hot read also makes; such a process spent several times the GC time and
 * ran about ten major GCs per ten seconds for its whole life (bench/README, "Slow processes").
 */
const V8_FLAGS: readonly (readonly [name: string, flag: string])[] = [
  ['heap-growing-percent', `--heap-growing-percent=${HEAP_GROWING_PERCENT}`],
  ['allocation-site-pretenuring', '--no-allocation-site-pretenuring'],
];

/** V8 spells an option with `-` or `_`, and a boolean one also with `--no-`. */
const optionName = (arg: string): string =>
  arg
    .replace(/^--(no-)?/, '')
    .replace(/_/g, '-')
    .split('=')[0];

/**
 * The service's V8 options that the command line (`execArgv`) does not give: an operator's own option wins, in either
 * spelling, which is also how the bench turns one off.
 */
export function v8FlagsToSet(execArgv: readonly string[]): string[] {
  const given = new Set(execArgv.map(optionName));
  return V8_FLAGS.filter(([name]) => !given.has(name)).map(([, flag]) => flag);
}
