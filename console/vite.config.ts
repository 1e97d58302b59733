// vitest's defineConfig is vite's with the `test` section typed.
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// Built into the repository's .build/console (kept out of git); the hub serves it under /console/.
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: '../.build/console',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
