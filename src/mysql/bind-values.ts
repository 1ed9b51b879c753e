// Values of a COM_STMT_EXECUTE as SQL literals, for statements whose parameter decides what their condition matches
// (see MysqlRelay: value-sensitive statements); the core puts them into the text (sql/mysql-placeholders.ts).
//
// Security: `DELETE FROM t WHERE v LIKE ?` executed with '%' (or `REGEXP ?` with '') deletes every row, while the
// literal forms are refused; the prepared text alone shows a placeholder. The broker reads the execution's values
// and decides the text with them in place. What cannot be read (an unknown type, a short packet) is reported as
// null, and the caller refuses the execution (fail closed).
import { readLenencInt } from './packets.js';

/**
 * A text with a placeholder and a LIKE/REGEXP/RLIKE anywhere (the statements worth reading per execution): the
 * placeholder may reach the pattern through any expression (`v LIKE CONCAT(?, '')`), so the pair is enough.
 */
export function valueSensitive(text: string): boolean {
  return text.includes('?') && /\b(?:LIKE|RLIKE|REGEXP)\b/i.test(text);
}

/** A literal for the canonical text (strings with '' and \\ escapes), or undefined when the value is unknown. */
export type Literal = string | undefined;

/**
 * The parameter values of a COM_STMT_EXECUTE payload (command byte first) as SQL literals; `types` are the ones the
 * previous execution bound (kept by the caller) when this one does not send them. null when unreadable.
 */
export function executeValues(payload: Buffer, params: number, previousTypes: number[] | null): { values: Literal[]; types: number[] } | null {
  try {
    if (params === 0) return { values: [], types: [] };
    let o = 1 + 4 + 1 + 4;
    const bitmapLen = (params + 7) >> 3;
    const bitmap = payload.subarray(o, o + bitmapLen);
    o += bitmapLen;
    const bound = payload[o++];
    let types = previousTypes;
    if (bound === 1) {
      types = [];
      for (let i = 0; i < params; i++, o += 2) types.push(payload[o]! | (payload[o + 1]! << 8));
    }
    if (!types || types.length !== params) return null;
    const values: Literal[] = [];
    for (let i = 0; i < params; i++) {
      if (bitmap[i >> 3]! & (1 << (i & 7))) {
        values.push('NULL');
        continue;
      }
      const type = types[i]! & 0xff;
      const unsigned = (types[i]! & 0x8000) !== 0;
      switch (type) {
        case 0x01: values.push(String(unsigned ? payload.readUInt8(o) : payload.readInt8(o))); o += 1; break;
        case 0x02: case 0x0d: values.push(String(unsigned ? payload.readUInt16LE(o) : payload.readInt16LE(o))); o += 2; break;
        case 0x03: case 0x09: values.push(String(unsigned ? payload.readUInt32LE(o) : payload.readInt32LE(o))); o += 4; break;
        case 0x08: values.push(String(unsigned ? payload.readBigUInt64LE(o) : payload.readBigInt64LE(o))); o += 8; break;
        case 0x04: values.push(undefined); o += 4; break;
        case 0x05: values.push(undefined); o += 8; break;
        case 0x06: values.push('NULL'); break;
        case 0x07: case 0x0a: case 0x0b: case 0x0c: { const n = payload[o]!; o += 1 + n; values.push(undefined); break; }
        default: {
          // strings, decimals, blobs, JSON, enums, sets, bits, geometry: a length-encoded byte string
          const [len, at] = readLenencInt(payload, o);
          if (at + len > payload.length) return null;
          const text = payload.toString('utf8', at, at + len);
          values.push(`'${text.replace(/\\/g, '\\\\').replace(/'/g, "''").replace(/\0/g, '\\0')}'`);
          o = at + len;
        }
      }
      if (o > payload.length) return null;
    }
    return { values, types };
  } catch {
    return null;
  }
}
