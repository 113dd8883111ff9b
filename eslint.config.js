import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'coverage/**', '.tap/**', 'openapi/**', 'node_modules/**']
  }),
  {
    // A TypeBox schema and its Static type share a name on purpose (`Article` value and `Article` type).
    rules: { '@typescript-eslint/no-redeclare': 'off' }
  }
]
