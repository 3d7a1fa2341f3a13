// A real Unleash for the tests, on loopback, against the database named in DATABASE_NAME,
// with its admin, client and frontend tokens preloaded (no UI sign-in, no outside calls).
const unleash = require('unleash-server');

const env = process.env;
unleash
  .start({
    db: {
      host: env.DATABASE_HOST || '127.0.0.1',
      port: Number(env.DATABASE_PORT || 5432),
      user: env.DATABASE_USERNAME || 'postgres',
      password: env.DATABASE_PASSWORD || '',
      database: env.DATABASE_NAME,
      ssl: false,
    },
    server: { host: '127.0.0.1', port: Number(env.PORT) },
    authentication: {
      initApiTokens: [
        { environment: '*', project: '*', secret: env.ADMIN_TOKEN, type: 'admin', tokenName: 'warroom-admin' },
        { environment: 'production', project: 'default', secret: env.CLIENT_TOKEN, type: 'client', tokenName: 'warroom-client' },
        { environment: 'production', project: 'default', secret: env.FRONTEND_TOKEN, type: 'frontend', tokenName: 'warroom-frontend' },
      ],
    },
    versionCheck: { enable: false },
    logLevel: 'warn',
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
