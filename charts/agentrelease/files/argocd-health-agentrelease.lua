-- Argo CD health of an AgentRelease (resource.customizations.health.agentops.dev_AgentRelease).
-- Ready -> Healthy; being worked on, or a spec the controller has not observed -> Progressing;
-- Stalled (a gate blocked, rolled back) -> Degraded; Suspended and AwaitingApproval ->
-- Suspended (a deliberate wait); Superseded -> Healthy (done: a newer release owns the objects).
local hs = { status = "Progressing", message = "Waiting for the AgentRelease controller" }
if obj.status == nil then
  return hs
end
local function condition(type)
  if obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end
local function message(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end
local phase = obj.status.phase
local suspended = condition("Suspended")
if phase == "Suspended" or (suspended ~= nil and suspended.status == "True") then
  hs.status = "Suspended"
  hs.message = message(suspended, "Suspended")
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to observe generation " .. tostring(generation)
  return hs
end
local ready = condition("Ready")
if phase == "Superseded" then
  hs.status = "Healthy"
  hs.message = message(ready, "Superseded by a newer release")
  return hs
end
if phase == "AwaitingApproval" then
  hs.status = "Suspended"
  hs.message = message(ready, "Awaiting approval")
  return hs
end
local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = message(stalled, "Stalled")
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = message(ready, "Ready")
  return hs
end
local reconciling = condition("Reconciling")
hs.status = "Progressing"
hs.message = message(reconciling, message(ready, "Progressing"))
return hs
