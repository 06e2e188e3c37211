#!/usr/bin/env node
// Keeps the code walkable: no module under src/ over MAX_MODULE lines, no function or closure
// over MAX_FUNCTION lines (counted from its first to its last line, nested functions included in
// their parent's count, as a reader meets them). Prints each offender; exits 1 when there is one.
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import ts from "typescript"

const MAX_MODULE = 400
const MAX_FUNCTION = 150
const root = new URL("..", import.meta.url).pathname

const sources = (dir) =>
  readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : []
  })

const isFunction = (node) =>
  ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isArrowFunction(node) ||
  ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node)

const offences = []
for (const path of sources(join(root, "src"))) {
  const text = readFileSync(path, "utf8")
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true)
  const name = relative(root, path)
  const lines = file.getLineAndCharacterOfPosition(text.length).line + 1
  if (lines > MAX_MODULE) offences.push(`${name}: ${lines} lines (at most ${MAX_MODULE} per module)`)
  const visit = (node) => {
    if (isFunction(node)) {
      const first = file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1
      const last = file.getLineAndCharacterOfPosition(node.getEnd()).line + 1
      if (last - first + 1 > MAX_FUNCTION) {
        offences.push(`${name}:${first}: a function of ${last - first + 1} lines (at most ${MAX_FUNCTION})`)
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
}
for (const offence of offences) console.log(offence)
if (offences.length > 0) process.exit(1)
console.log(`every module under src/ within ${MAX_MODULE} lines, every function within ${MAX_FUNCTION}`)
