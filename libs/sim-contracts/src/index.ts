/**
 * @app/sim-contracts: the portal simulator's own API (its `/__sim/` admin routes and its data file), shared by the
 * simulator and the tests and benchmarks that drive it. Never part of the real portal's wire (see @app/portal-contracts).
 */
export * from './sim-admin';
export * from './sim-data';
