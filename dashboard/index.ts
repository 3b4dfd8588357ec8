export { registerTenantRoutes } from './tenants-api.ts';
export { registerHomePage } from './home-page.ts';
