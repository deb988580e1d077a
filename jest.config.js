// One jest run: unit specs next to the code, end-to-end suites in test/ (real Redis, real processes).
// ts-jest in transpile-only mode (isolatedModules in tsconfig.jest.json): fast, and decorators get their metadata as in the build.
// (@swc/jest was faster still, but its platform binaries are not all on the registry this project installs from,
// so `npm ci` could not reproduce the lock file.)
const tsJest = ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }];
const moduleNameMapper = {
  '^@app/(portal-contracts|portal-client|asset-cache|sim-contracts)$': '<rootDir>/libs/$1/src',
  '^@app/(portal-contracts|portal-client|asset-cache|sim-contracts)/(.*)$': '<rootDir>/libs/$1/src/$2',
  '^@asset-bff/client$': '<rootDir>/libs/asset-bff-client/src',
};
const common = {
  transform: { '^.+\\.ts$': tsJest },
  moduleNameMapper,
  setupFiles: ['reflect-metadata'],
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
};
module.exports = {
  projects: [
    { ...common, displayName: 'unit', roots: ['<rootDir>/apps', '<rootDir>/libs'], testMatch: ['**/*.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
  ],
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
