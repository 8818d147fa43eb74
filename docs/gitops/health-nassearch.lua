-- Argo CD health check for cenas.dev/NASSearch (docs/OPERATIONS.md, "GitOps").
-- Reads only status.observedGeneration and status.conditions (docs/API.md): no phase enum.
-- A running search is Healthy: it may run for days, and Progressing would hold the Application (and any
-- later sync wave) in Progressing all that time.
local hs = {status = "Progressing", message = "Waiting for the cenas operator to reconcile the search"}

local function condition(conditions, kind)
  for _, c in ipairs(conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function describe(c)
  local text = c.reason or c.type
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end

if obj.status == nil or obj.status.conditions == nil then
  return hs
end
if obj.metadata.generation ~= nil and obj.status.observedGeneration ~= nil
    and obj.status.observedGeneration < obj.metadata.generation then
  hs.message = "Waiting for the operator to observe generation " .. obj.metadata.generation
  return hs
end

local conditions = obj.status.conditions
local ready = condition(conditions, "Ready")
local complete = condition(conditions, "Complete")
local suspended = condition(conditions, "Suspended")
local forecast = condition(conditions, "ForecastAvailable")

if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end
if complete ~= nil and complete.status == "True" then
  hs.status = "Healthy"
  hs.message = "Complete: " .. describe(complete)
  return hs
end
if suspended ~= nil and suspended.status == "True" then
  hs.status = "Suspended"
  hs.message = describe(suspended)
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  local progressing = condition(conditions, "Progressing")
  if progressing ~= nil and progressing.status == "True" then
    hs.message = "Running trials"
  elseif progressing ~= nil then
    hs.message = "Waiting: " .. describe(progressing)
  else
    hs.message = "Reconciled"
  end
  if forecast ~= nil and forecast.status == "False" then
    hs.message = hs.message .. " (no fresh forecast, rule-based fallback: " .. describe(forecast) .. ")"
  end
  return hs
end
return hs
