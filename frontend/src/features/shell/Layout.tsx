import { useState } from "react";
import { Link, Navigate, NavLink, Outlet, useLocation } from "react-router-dom";
import { Loading } from "../../components/ui";
import { useAuth } from "../auth/AuthContext";
import { PasswordDialog } from "../auth/PasswordDialog";
import { SessionExpiredDialog } from "../auth/SessionExpiredDialog";

const NAV = [
  { to: "/exeml", label: "ExeML", testId: "nav-exeml" },
  { to: "/datasets", label: "Datasets", testId: "nav-datasets" },
  { to: "/models", label: "Models", testId: "nav-models" },
  { to: "/services", label: "Services", testId: "nav-services" },
  { to: "/usage", label: "Usage", testId: "nav-usage" },
  { to: "/tasks", label: "Tasks", testId: "nav-tasks" },
  { to: "/team", label: "Team", testId: "nav-team" },
];

export function Layout() {
  const { me, checked, logout, can } = useAuth();
  const location = useLocation();
  const [changingPassword, setChangingPassword] = useState(false);
  if (!checked) return <Loading />;
  if (!me) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand"><span className="logo">◆</span> ExeML</div>
        <div className="topbar-right">
          <span className="tenant" data-testid="header-tenant">{me.tenant.name}</span>
          <span className="role-badge" data-testid="header-role">{me.role}</span>
          <span className="muted" data-testid="header-user">{me.user.username}</span>
          {can("tokens") && <Link className="link" to="/tokens" data-testid="nav-tokens">API tokens</Link>}
          <button className="link" onClick={() => setChangingPassword(true)} data-testid="change-password">Password</button>
          <button className="link" onClick={() => void logout()} data-testid="logout">Sign out</button>
        </div>
      </header>
      <nav className="sidenav">
        {NAV.map((item) => (
          <NavLink key={item.to} to={item.to} data-testid={item.testId} className={({ isActive }) => (isActive ? "active" : "")}>
            {item.label}
          </NavLink>
        ))}
      </nav>
      <main className="content">
        <Outlet />
      </main>
      <SessionExpiredDialog />
      {changingPassword && <PasswordDialog onClose={() => setChangingPassword(false)} />}
    </div>
  );
}
