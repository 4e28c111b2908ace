import test from 'ava';
import { parseCount, parseDuration, formatCount, formatDuration } from '../src/util/units';

test('parseCount: suffixes and plain numbers', (t) => {
  t.is(parseCount('1M'), 1_000_000);
  t.is(parseCount('400M'), 400_000_000);
  t.is(parseCount('1.5k'), 1500);
  t.is(parseCount('2G'), 2e9);
  t.is(parseCount('2B'), 2e9);
  t.is(parseCount('1e6'), 1e6);
  t.is(parseCount('1_000_000'), 1e6);
  t.is(parseCount(' 0.5M '), 500_000);
  t.is(parseCount('18'), 18);
});

test('parseCount: garbage, negative, absurd and ambiguous values name the flag', (t) => {
  const e1 = t.throws(() => parseCount('lots', '--budget-params'));
  t.is((e1 as { code?: string }).code, 'E_OPTION');
  t.regex(e1!.message, /^--budget-params: expected a count/);
  t.regex(t.throws(() => parseCount('-1M', '--budget-flops'))!.message, /--budget-flops: must not be negative/);
  t.regex(t.throws(() => parseCount('1e30', '--budget-flops'))!.message, /--budget-flops: .*absurdly large/);
  t.regex(t.throws(() => parseCount('1m', '--budget-params'))!.message, /ambiguous: use M/);
  t.regex(t.throws(() => parseCount('1X', '--budget-params'))!.message, /unknown unit 'X'/);
  t.regex(t.throws(() => parseCount('NaN', '--budget-params'))!.message, /expected a count/);
  t.regex(t.throws(() => parseCount('Infinity', '--budget-params'))!.message, /expected a count/);
  // Counts are whole: 1.5 parameters is a typo, not 2.
  t.regex(t.throws(() => parseCount('1.5', '--budget-params'))!.message, /--budget-params: must be a whole count, got '1.5'/);
  t.regex(t.throws(() => parseCount('1.0000005M', '--budget-params'))!.message, /whole count.*1000000\.5/);
  // …but the float noise of a suffix product is not a fraction.
  t.is(parseCount('1.1M'), 1_100_000);
  t.is(parseCount('0.3G'), 300_000_000);
  t.is(parseCount('2.675k'), 2675);
  // Large values: a half is still a fraction.
  t.regex(t.throws(() => parseCount('1000000000.5', '--budget-flops'))!.message, /whole count/);
  t.regex(t.throws(() => parseCount('1.0000000001G', '--budget-flops'))!.message, /whole count/);
});

test('parseDuration: units to milliseconds', (t) => {
  t.is(parseDuration('0.5ms'), 0.5);
  t.is(parseDuration('500us'), 0.5);
  t.is(parseDuration('500µs'), 0.5);
  t.is(parseDuration('2s'), 2000);
  t.is(parseDuration('1.2'), 1.2);
  t.is(parseDuration('1min'), 60000);
  t.true(Math.abs(parseDuration('100ns') - 1e-4) < 1e-15);
});

test('parseDuration: errors name the flag', (t) => {
  t.regex(t.throws(() => parseDuration('fast', '--budget-latency'))!.message, /^--budget-latency: expected a duration/);
  t.regex(t.throws(() => parseDuration('0ms', '--budget-latency'))!.message, /must be positive/);
  t.regex(t.throws(() => parseDuration('-1ms', '--budget-latency'))!.message, /must be positive/);
  t.regex(t.throws(() => parseDuration('3d', '--budget-latency'))!.message, /unknown unit 'd'/);
  t.regex(t.throws(() => parseDuration('1e9s', '--budget-latency'))!.message, /absurdly long/);
});

test('formatCount / formatDuration', (t) => {
  t.is(formatCount(1_234_567), '1.23M');
  t.is(formatCount(400e6), '400M');
  t.is(formatCount(950), '950');
  t.is(formatCount(2e9), '2G');
  t.is(formatDuration(0.5), '500us');
  t.is(formatDuration(1.5), '1.5ms');
  t.is(formatDuration(1500), '1.5s');
  for (const s of ['1M', '350k', '2.5G']) t.is(parseCount(formatCount(parseCount(s))), parseCount(s));
});

test('formatCount / formatDuration round before choosing the unit (999,999 is 1M, 59,999 ms is 1min)', (t) => {
  t.is(formatCount(999_999), '1M');
  t.is(formatCount(999_499), '999k');
  t.is(formatCount(999.6), '1k');
  t.is(formatCount(-999_999), '-1M');
  t.is(formatCount(999_999_999_999), '1T');
  t.is(formatDuration(59_999), '1min');
  t.is(formatDuration(59_499), '59.5s');
  t.is(formatDuration(999.7), '1s');
  t.is(formatDuration(0.99996), '1ms');
  t.is(formatDuration(0.0009996), '1us');
  // Every count in [1, 1e13) formats to a string that parses back within 0.5 % (3 significant digits).
  for (let e = 0; e < 13; e += 0.37) {
    const n = Math.round(10 ** e);
    const back = parseCount(formatCount(n));
    t.true(Math.abs(back - n) <= 0.005 * n, `${n} → ${formatCount(n)} → ${back}`);
    t.notRegex(formatCount(n), /^1000[kMGT]?$/);
  }
});
