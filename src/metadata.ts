/* eslint-disable */
export default async () => {
  const t = {};
  return {
    '@nestjs/swagger': {
      models: [],
      controllers: [
        [
          import('./modules/health/health.controller.js'),
          { HealthController: { live: { type: Object }, ready: { type: Object } } },
        ],
        [import('./modules/metrics/metrics.controller.js'), { MetricsController: { render: { type: String } } }],
      ],
    },
  };
};
