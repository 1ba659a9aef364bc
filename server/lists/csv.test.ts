import { describe, expect, it } from 'vitest';
import { toCsv } from './csv';

describe('toCsv', () => {
  it('writes plain fields bare, one CRLF-terminated record per row, null as an empty field', () => {
    expect(
      toCsv([
        ['id', 'actor'],
        [1, 'alice'],
        [2, null],
      ]),
    ).toBe('id,actor\r\n1,alice\r\n2,\r\n');
  });

  it('quotes fields holding a comma, a quote (doubled), a newline or a carriage return', () => {
    expect(toCsv([['a,b', 'say "hi"', 'two\nlines', 'cr\rhere']])).toBe(
      '"a,b","say ""hi""","two\nlines","cr\rhere"\r\n',
    );
  });

  it('keeps JSON details intact inside one quoted field', () => {
    const details = JSON.stringify({ reason: 'no, "really"', path: 'C:\\tmp' });
    expect(toCsv([[details]])).toBe(`"${details.replaceAll('"', '""')}"\r\n`);
  });

  it.each([
    ['=HYPERLINK("http://evil","x")', `"'=HYPERLINK(""http://evil"",""x"")"`],
    ['+1+2', "'+1+2"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tleading tab', "'\tleading tab"],
    ['\rleading cr', `"'\rleading cr"`],
    ['＝full-width', "'＝full-width"],
    ['＋full-width', "'＋full-width"],
    ['－full-width', "'－full-width"],
    ['＠full-width', "'＠full-width"],
    ['-', "'-"],
  ])('neutralises the formula-leading field %j for spreadsheets', (field, expected) => {
    expect(toCsv([[field]])).toBe(`${expected}\r\n`);
  });

  it('leaves formula characters alone when they are not first, and numbers alone even when negative', () => {
    expect(toCsv([['a=b', 'vm-42', 'x@y', -5, 0]])).toBe('a=b,vm-42,x@y,-5,0\r\n');
  });
});
