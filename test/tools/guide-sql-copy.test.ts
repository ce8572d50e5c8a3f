import fs from 'node:fs';
import { expect } from 'chai';
import { GUIDE_SQL, findGuide, guideSqlIn } from '../../tools/bigquery-sql/guide-sql';

/** The check analyzes a copy of the guide's SQL; the copy must be the guide's SQL, word for word. */
describe('the copy of the user guide’s SQL that the BigQuery check analyzes', () => {
  it('finds every ```sql block and bq query command of a guide, in order', () => {
    const markdown = 'x\n```sql\nSELECT 1\nFROM `a.b`\n```\ny\n```bash\nbq query "SELECT 2\n  FROM c.d"\n```\n```json\n{}\n```';
    expect(guideSqlIn(markdown)).to.deep.equal(['SELECT 1\nFROM `a.b`', 'SELECT 2\n  FROM c.d']);
  });

  it('is exactly the SQL of the guide on this machine', function () {
    const guide = findGuide();
    if (!guide) {
      process.stderr.write('guide-sql: practical-guides.md is not beside this repository (set GUIDE_PATH); the copy is not compared\n');
      this.skip();
    }
    expect(GUIDE_SQL.map((g) => g.sql)).to.deep.equal(guideSqlIn(fs.readFileSync(guide, 'utf8')));
  });
});
