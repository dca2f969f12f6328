// The hand-written declarations of the package's modules (www/clipseg.d.ts, www/labels.d.ts):
// a strict TypeScript app that uses every export compiles against them, and they declare exactly
// what the modules export, down to each class's members. No build: 'clipseg-web' is mapped to the
// sources, as the built package's `exports` map it (scripts/package_json.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { MODULES } from '../../scripts/package_json.mjs';
import { typeCheck } from '../types/check.mjs';

const source = (file) => fileURLToPath(new URL(`../../${file}`, import.meta.url));
const declarationOf = (module) => source(module.replace(/\.js$/, '.d.ts'));
const paths = Object.fromEntries(
  Object.entries(MODULES).map(([path, module]) => [`clipseg-web${path.slice(1)}`, [declarationOf(module)]]),
);
const { program, diagnostics } = typeCheck([source('tests/types/consumer.ts')], { paths });
const checker = program.getTypeChecker();

// An instance of each exported class, to read its own fields: the constructors do no work
// (Segmenter.load starts the worker; Labels only connects to the worker it is given).
const INSTANCES = {
  Segmenter: (Segmenter) => new Segmenter({}),
  SegmenterError: (SegmenterError) => new SegmenterError('a failure', { kind: 'prompt' }),
  Labels: (Labels) => new Labels({ postMessage() {}, terminate() {} }),
};

const sorted = (names) => [...new Set(names)].sort();
const declaredExports = (module) => {
  const symbol = checker.getSymbolAtLocation(program.getSourceFile(declarationOf(module)));
  return checker.getExportsOfModule(symbol);
};
// A declared class's own members, the constructor and `prototype` aside.
const declaredMembers = (symbol) => sorted(
  [...symbol.members.keys(), ...symbol.exports.keys()].filter((name) => !name.startsWith('__') && name !== 'prototype'),
);
// A class's public members at run time: statics, prototype members and an instance's own fields.
const runtimeMembers = (Class, instance) => sorted([
  ...Object.getOwnPropertyNames(Class).filter((name) => !['length', 'name', 'prototype'].includes(name)),
  ...Object.getOwnPropertyNames(Class.prototype).filter((name) => name !== 'constructor'),
  ...Object.keys(instance),
]);

test('a strict TypeScript app using every export and result field compiles against the declarations', () => {
  assert.deepEqual(diagnostics, []);
});

for (const [path, module] of Object.entries(MODULES)) {
  test(`${module} ("clipseg-web${path.slice(1)}"): every export is declared, and nothing else`, async () => {
    const runtime = await import(`../../${module}`);
    const values = declaredExports(module).filter((symbol) => symbol.flags & ts.SymbolFlags.Value);
    assert.deepEqual(sorted(values.map((symbol) => symbol.name)), sorted(Object.keys(runtime)));
  });

  test(`${module}: every member of its classes is declared, and nothing else`, async () => {
    const runtime = await import(`../../${module}`);
    const classes = declaredExports(module).filter((symbol) => symbol.flags & ts.SymbolFlags.Class);
    assert.ok(classes.length > 0);
    for (const symbol of classes) {
      const make = INSTANCES[symbol.name];
      assert.ok(make, `tests/unit/types.test.mjs needs an instance of ${symbol.name}`);
      const Class = runtime[symbol.name];
      assert.deepEqual(declaredMembers(symbol), runtimeMembers(Class, make(Class)), symbol.name);
    }
  });
}
