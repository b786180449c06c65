-- marts.dispersion_summary: one row per (period, attribute) of marts.provider_dispersion: how far
-- providers of the same model differ on the attribute, summarised over the models with a cv (two
-- or more providers, a non-zero mean). The report's dispersion table
-- (pipeline/lib/report/sections/heterogeneity.py) only formats these rows.
--   models: models with a cv
--   cv_median, cv_mean: median and mean of their cv
--   widest_model, widest_cv: the model with the largest cv (ties: model name) and its cv
--   share_at_official_mean: mean over those models of share_at_official (prices only, else null)
-- Parameters: $provider_dispersion (mart file).
select
    period,
    period_type,
    attribute,
    count(*) as models,
    median(cv) as cv_median,
    avg(cv) as cv_mean,
    first(model order by cv desc, model) as widest_model,
    max(cv) as widest_cv,
    avg(share_at_official) as share_at_official_mean
from read_parquet($provider_dispersion)
where cv is not null
group by period, period_type, attribute
order by period_type desc, period, attribute
