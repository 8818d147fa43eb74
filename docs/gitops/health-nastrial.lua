-- Argo CD health check for cenas.dev/NASTrial (docs/OPERATIONS.md, "GitOps").
-- Trials are created by the operator (owned by their NASSearch); Argo CD shows them under the search.
local hs = {status = "Progressing", message = "Pending"}

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
local conditions = obj.status.conditions
local failed = condition(conditions, "Failed")
local complete = condition(conditions, "Complete")
local suspended = condition(conditions, "Suspended")
local running = condition(conditions, "Running")

if failed ~= nil and failed.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(failed)
elseif complete ~= nil and complete.status == "True" then
  hs.status = "Healthy"
  hs.message = "Complete"
elseif suspended ~= nil and suspended.status == "True" then
  hs.status = "Suspended"
  hs.message = describe(suspended)
elseif running ~= nil and running.status == "True" then
  hs.status = "Healthy"
  hs.message = "Running"
  if obj.status.progress ~= nil and obj.status.progress.totalSteps ~= nil and obj.status.progress.step ~= nil then
    hs.message = "Running, step " .. obj.status.progress.step .. "/" .. obj.status.progress.totalSteps
  end
end
return hs
