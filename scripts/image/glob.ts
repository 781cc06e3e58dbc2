/** Path globs for the image definition: `*` within one segment, `**` across segments (`a/**` includes `a`). */
export function compilePathGlob(glob: string): (path: string) => boolean {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (glob.startsWith('/**', i) && i + 3 === glob.length) {
      re += '(?:/.*)?';
      i += 2;
    } else if (glob.startsWith('**', i)) {
      re += '.*';
      i += 1;
    } else if (c === '*') re += '[^/]*';
    else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  const compiled = new RegExp(`^${re}$`);
  return (path) => compiled.test(path);
}

export function anyGlob(globs: readonly string[]): (path: string) => boolean {
  const matchers = globs.map(compilePathGlob);
  return (path) => matchers.some((m) => m(path));
}
