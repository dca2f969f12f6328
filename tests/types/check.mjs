// Type-checks TypeScript files as `tsc --noEmit --strict` would, for a browser app that bundles its
// modules; the unit tests (against www/*.d.ts) and the package test (against the packed package)
// share it. Returns the program and its diagnostics as "file:line: message" strings.
import ts from 'typescript';

const OPTIONS = {
  strict: true,
  noEmit: true,
  noUnusedLocals: true,
  target: 'es2022',
  module: 'esnext',
  moduleResolution: 'bundler',
  lib: ['es2022', 'dom'],
  types: [],
};

/** `paths`: module name → files, as tsconfig's, to stand for a package that is not installed. */
export function typeCheck(files, { paths } = {}) {
  const { options, errors } = ts.convertCompilerOptionsFromJson({ ...OPTIONS, paths }, process.cwd());
  if (errors.length) throw new Error(errors.map((e) => ts.flattenDiagnosticMessageText(e.messageText, '\n')).join('\n'));
  const program = ts.createProgram(files, options);
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file) return text;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${d.file.fileName}:${line + 1}: ${text}`;
  });
  return { program, diagnostics };
}
