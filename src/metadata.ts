/* eslint-disable */
export default async () => {
  const t = {
    ['./common/errors/problem-details.dto.js']: await import('./common/errors/problem-details.dto.js'),
  };
  return {
    '@nestjs/swagger': {
      models: [
        [
          import('./common/errors/problem-details.dto.js'),
          {
            FieldErrorDto: {
              field: { required: true, type: () => String },
              messages: { required: true, type: () => [String] },
            },
            ProblemDetailsDto: {
              type: { required: true, type: () => String },
              title: { required: true, type: () => String },
              status: { required: true, type: () => Number },
              detail: { required: true, type: () => String },
              code: { required: true, type: () => String },
              requestId: { required: true, type: () => String },
              instance: { required: true, type: () => String },
              errors: { required: false, type: () => [t['./common/errors/problem-details.dto.js'].FieldErrorDto] },
            },
          },
        ],
      ],
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
