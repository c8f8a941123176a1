// Copies the DADS design tokens (CSS custom properties) and their licence into ../static.
// Run by `make assets` after `npm ci`; the output is committed, so a server needs no Node.
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "node_modules", "@digital-go-jp", "design-tokens");
const version = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")).version;
const css = readFileSync(join(pkg, "dist", "tokens.css"), "utf8");
const banner = `/* @digital-go-jp/design-tokens ${version} (MIT, デジタル庁): see dads-tokens.LICENSE */\n`;
writeFileSync(join(here, "..", "static", "dads-tokens.css"), banner + css);
copyFileSync(join(pkg, "LICENSE"), join(here, "..", "static", "dads-tokens.LICENSE"));
console.log(`dads-tokens.css ${version} written`);
