import ignore from 'ignore';

/** .gitignore-syntax matcher. Directories are asked about with a trailing '/' as git does. */
export interface IgnoreMatcher {
  ignores(path: string, isDir: boolean): boolean;
}

export const IGNORE_FILE = '.ferryignore';

/** Lines of a .ferryignore file (comments and blanks are handled by the matcher itself). */
export function ignoreLines(text: string | undefined): string[] {
  return text === undefined ? [] : text.split(/\r?\n/);
}

const NOTHING_IGNORED: IgnoreMatcher = { ignores: () => false };

export function makeIgnore(rules: readonly string[]): IgnoreMatcher {
  // Without rules skip the matcher entirely: it costs ~1.5 us and a cache entry per path.
  if (!rules.some((r) => r.trim() !== '' && !r.trimStart().startsWith('#'))) return NOTHING_IGNORED;
  const ig = ignore({ allowRelativePaths: false }).add([...rules]);
  return {
    ignores(path, isDir) {
      return ig.ignores(isDir ? `${path}/` : path);
    },
  };
}
