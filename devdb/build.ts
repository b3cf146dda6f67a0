// `npm run devdb:build`: builds the embedded database ahead of time (npm start does it on demand).
import { ensureDevdbBuilt, firstLine } from './ensureBuilt';

ensureDevdbBuilt((line) => console.log(line)).then(
  (path) => console.log(`devdb ready: ${path}`),
  (err: unknown) => {
    console.error(`devdb build failed: ${firstLine(err)}`);
    process.exit(1);
  },
);
