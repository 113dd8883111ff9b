import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'coverage/**', '.tap/**', 'openapi/**', 'node_modules/**']
  }),
  {
    // A TypeBox schema and its Static type share a name on purpose (`Article` value and `Article` type).
    rules: { '@typescript-eslint/no-redeclare': 'off' }
  },
  {
    // Storage knows nothing of HTTP: db/ is what the PostgreSQL port (issue 16) swaps, and it must not pull
    // in plugins or request helpers.
    files: ['src/db/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['../http/*', '../plugins/*'] }] }
  }
]
