import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
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

export default defineConfig({
  main: {
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
        output: { format: 'es', entryFileNames: '[name].js' },
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
