-- stg_models: one row per model variant, as loaded from the drop.
-- Input view `ok`: validated, deduplicated rows (contract columns + extra columns as text).
select * from ok
