import { expect } from 'chai';
import { lexBigQuery, significant } from '../../src/warehouse/sql-lexer';
import type { Token } from '../../src/warehouse/sql-lexer';
import { WarehouseError } from '../../src/warehouse/types';
import { sqlParamNames } from '../../src/pipelines/sql-scan';
import { warehouseError } from '../helpers/errors';

const only = (sql: string): Token => {
  const tokens = significant(lexBigQuery(sql));
  expect(tokens, sql).to.have.length(1);
  return tokens[0] as Token;
};

async function lexError(sql: string): Promise<string> {
  const err = await warehouseError(() => lexBigQuery(sql));
  expect(err.reason).to.equal('invalid_query');
  return err.message;
}

describe('the BigQuery lexer', () => {
  describe('string literals', () => {
    const cases: Array<[string, string]> = [
      ["'abc'", 'abc'],
      ['"abc"', 'abc'],
      ["'''a\n'b'\n'''", "a\n'b'\n"],
      ['"""say "hi\\""""', 'say "hi"'],
      ["'it\\'s'", "it's"],
      ['"a\\"b"', 'a"b'],
      ["'tab\\tnew\\nline'", 'tab\tnew\nline'],
      ["'\\a\\b\\f\\r\\v\\?\\`\\\\'", '\x07\b\f\r\v?`\\'],
      ["'\\x41\\X42\\103'", 'ABC'],
      ["'\\u00e9\\U0001F600'", 'é😀'],
      ["'\\xc3\\xa9'", 'é'],
      ["r'\\d+\\n'", '\\d+\\n'],
      ["R\"a\\\"b\"", 'a\\"b'],
      ["r'''x\\'''y'''", "x\\'''y"],
      ["'ünïcødé'", 'ünïcødé'],
    ];
    for (const [sql, value] of cases) {
      it(`reads ${sql} as the string ${JSON.stringify(value)}`, () => {
        expect(only(sql)).to.include({ kind: 'string', value });
      });
    }
  });

  describe('bytes literals', () => {
    const cases: Array<[string, number[]]> = [
      ["b'abc'", [97, 98, 99]],
      ['B"\\x00\\xff"', [0, 255]],
      ["b'''\\377\\n'''", [255, 10]],
      ["rb'\\x'", [92, 120]],
      ["BR'a\\n'", [97, 92, 110]],
      ["b'é'", [0xc3, 0xa9]],
    ];
    for (const [sql, bytes] of cases) {
      it(`reads ${sql} as ${bytes.length} bytes`, () => {
        const t = only(sql);
        expect(t.kind).to.equal('bytes');
        expect([...(t.bytes ?? [])]).to.deep.equal(bytes);
      });
    }
  });

  describe('everything else', () => {
    it('reads backtick identifiers with escapes, parameters and system variables', () => {
      expect(only('`my-proj.ds.t`')).to.include({ kind: 'quoted', value: 'my-proj.ds.t' });
      expect(only('`a\\`b`')).to.include({ kind: 'quoted', value: 'a`b' });
      expect(only('@date')).to.include({ kind: 'param', value: 'date' });
      expect(only('@@script.job_id')).to.include({ kind: 'system', value: 'script.job_id' });
    });

    it('reads numbers, and a dot after a name as a path separator', () => {
      expect(significant(lexBigQuery('1 .5 5. 1.5e-3 0x1F')).map((t) => [t.kind, t.text])).to.deep.equal([
        ['number', '1'], ['number', '.5'], ['number', '5.'], ['number', '1.5e-3'], ['number', '0x1F'],
      ]);
      expect(significant(lexBigQuery('t.x1')).map((t) => t.text)).to.deep.equal(['t', '.', 'x1']);
    });

    it('keeps comments whole, so nothing inside them counts', () => {
      const tokens = lexBigQuery("SELECT 1 -- '@a\n# \"@b\n/* @c ' */ , @d");
      expect(tokens.filter((t) => t.kind === 'comment').map((t) => t.text)).to.deep.equal(["-- '@a", '# "@b', "/* @c ' */"]);
      expect(tokens.filter((t) => t.kind === 'param').map((t) => t.value)).to.deep.equal(['d']);
    });

    it('gives back the input exactly when the token texts are joined', () => {
      const sql = "SELECT r'x', b\"y\", '''z''' AS `c`, @p FROM `ds.t` # end\nWHERE a <= 1.5 /* c */";
      expect(lexBigQuery(sql).map((t) => t.text).join('')).to.equal(sql);
    });
  });

  describe('malformed text', () => {
    const cases: Array<[string, RegExp]> = [
      ["SELECT 'abc", /^Syntax error: Unclosed string literal at \[1:8\]$/],
      ["SELECT 'a\nb'", /^Syntax error: Unclosed string literal at \[1:8\]$/],
      ["SELECT\n  '''abc''", /^Syntax error: Unclosed triple-quoted string literal at \[2:3\]$/],
      ["SELECT r'a\\'", /^Syntax error: Unclosed raw string literal at \[1:8\]$/],
      ["SELECT '\\q'", /^Syntax error: Illegal escape sequence: \\q at \[1:9\]$/],
      ["SELECT '\\400'", /^Syntax error: Illegal escape sequence: \\4 at \[1:9\]$/],
      ["SELECT b'\\u00e9'", /Unicode escape sequence \\u cannot be used in bytes literals at \[1:10\]$/],
      ["SELECT '\\xff'", /^Syntax error: string literal is not valid UTF-8 at \[1:8\]$/],
      ['SELECT 1 /* open', /^Syntax error: Unclosed comment at \[1:10\]$/],
      ['SELECT ``', /^Syntax error: Invalid empty identifier at \[1:8\]$/],
    ];
    for (const [sql, message] of cases) {
      it(`refuses ${JSON.stringify(sql)} with the place of the problem`, async () => {
        expect(await lexError(sql)).to.match(message);
      });
    }
  });

  describe('the parameter scanner, which reads through it', () => {
    it('finds @params only where the lexer sees parameters', () => {
      const sql = `SELECT @a, "x@y.z", '''@q''', r'@r', \`@w\`, @@project_id /* @c */ # @h\nFROM t WHERE b = @b AND a = @a`;
      expect(sqlParamNames(sql)).to.deep.equal(['a', 'b']);
    });

    it('refuses SQL it cannot read instead of guessing', () => {
      expect(() => sqlParamNames("SELECT 'open @x")).to.throw(WarehouseError, /Unclosed string literal/);
    });
  });
});
