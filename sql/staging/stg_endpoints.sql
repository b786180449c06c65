-- stg_endpoints: one row per (provider, model, valid_from) endpoint state.
-- A provider lists a model on a day when a row is valid on that day (valid_to null: still valid).
select * from ok
