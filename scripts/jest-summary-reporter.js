'use strict';
/**
 * Jest reporter: writes .jest-summary.json in the project root and prints a
 * plain closing line `jest: N passed, N failed` on stdout.
 *
 * "failed" also counts test files that could not run at all (compile errors,
 * exceptions at import time, failing beforeAll/afterAll hooks, ...).
 */
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');

class JestSummaryReporter {
  constructor(globalConfig, reporterOptions, reporterContext) {
    this._globalConfig = globalConfig;
    this._options = reporterOptions || {};
    this._context = reporterContext;
  }

  onRunComplete(_testContexts, results) {
    const passed = results.numPassedTests || 0;
    const failed = (results.numFailedTests || 0) + (results.numRuntimeErrorTestSuites || 0);
    const summary = {
      passed,
      failed,
      skipped: results.numPendingTests || 0,
      suitesFailed: results.numFailedTestSuites || 0,
    };
    try {
      fs.writeFileSync(path.join(ROOT, '.jest-summary.json'), JSON.stringify(summary, null, 2) + '\n');
    } catch (err) {
      process.stderr.write(`jest-summary-reporter: could not write .jest-summary.json: ${err.message}\n`);
    }
    process.stdout.write(`jest: ${passed} passed, ${failed} failed\n`);
  }
}

module.exports = JestSummaryReporter;
