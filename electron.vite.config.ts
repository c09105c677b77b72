import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import type { Plugin } from 'vite'
import react from '@vitejs/plugin-react'

// Native modules stay external: they are loaded from node_modules at run time and
// rebuilt for Electron's ABI (`npm run rebuild:electron`).
const nativeExternals = [
  'better-sqlite3',
  '@duckdb/node-api',
  '@duckdb/node-bindings',
  'onnxruntime-node',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-backend-wasm',
]

/**
 * electron-vite adds `const require = createRequire(import.meta.url)` to every ESM
 * chunk that mentions `require(` after Rolldown has named the chunk's bindings, so a
 * module that declares its own top-level `require` the same way (engine code that
 * loads optional packages) ends up declared twice in one chunk: a SyntaxError when
 * the chunk loads. The two are the same function (createRequire of the same chunk
 * URL), so the module's copy is dropped.
 */
const shimRequire = 'const require = __shims_module__.createRequire(import.meta.url);'
const ownRequire = /^(?:var|let|const) require = createRequire\(import\.meta\.url\);\n/gm
function dedupeRequireShim(): Plugin {
  return {
    name: 'lathe:dedupe-require-shim',
    apply: 'build',
    enforce: 'post',
    renderChunk(code) {
      if (!code.includes(shimRequire) || !ownRequire.test(code)) return null
      ownRequire.lastIndex = 0
      return { code: code.replace(ownRequire, ''), map: null }
    },
  }
}

export default defineConfig({
  main: {
    plugins: [dedupeRequireShim()],
    build: {
      outDir: 'out/main',
      externalizeDeps: true,
      rollupOptions: {
        external: nativeExternals,
        input: {
          electron: resolve(__dirname, 'src-main/electron/main.ts'),
          host: resolve(__dirname, 'src-main/electron/engine-host.ts'),
          'training-worker': resolve(__dirname, 'src-main/engine/training/worker.ts'),
          cli: resolve(__dirname, 'src-main/cli/index.ts'),
        },
        output: {
          format: 'es',
          entryFileNames: '[name].js',
          // The version and project root in a chunk of their own: \`lathe --help\` needs them,
          // and Rolldown would otherwise merge them with the system operations (zod schemas),
          // whose load is most of what --help costs.
          codeSplitting: { groups: [{ name: 'versions', test: /src-main[\\/]engine[\\/]system[\\/]versions\.ts$/ }] },
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve(__dirname, 'src-preload/index.ts') },
        // Sandboxed preloads cannot be ES modules.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src-renderer'),
    plugins: [react()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      rollupOptions: { input: resolve(__dirname, 'src-renderer/index.html') },
    },
  },
})
