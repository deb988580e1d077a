export * from './i18n';
export * from './envelope';
export * from './endpoints';
export * from './assets';
export * from './tree';
export * from './auth';
export * from './login';
