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

export function makeIgnore(rules: readonly string[]): IgnoreMatcher {
  const ig = ignore({ allowRelativePaths: false }).add([...rules]);
  return {
    ignores(path, isDir) {
      return ig.ignores(isDir ? `${path}/` : path);
    },
  };
}
