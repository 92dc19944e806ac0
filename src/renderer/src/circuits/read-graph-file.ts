/**
 * A graph JSON file chosen or dropped by the researcher, read and checked in the page before it is sent to the
 * store (parseGraphJson, src/protocol/circuits/graph-json-import.ts), so that a broken file is named in one line:
 * `<file>: graph JSON: <field>: <what was expected>`.
 */
import type { GraphJson } from '../../../protocol/circuits/graph-json';
import { parseGraphJson } from '../../../protocol/circuits/graph-json-import';

export function parseGraphText(fileName: string, text: string): GraphJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${fileName}: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  try {
    return parseGraphJson(value);
  } catch (err) {
    throw new Error(`${fileName}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function readGraphFile(file: File): Promise<GraphJson> {
  return parseGraphText(file.name, await file.text());
}
