import { createBrowserRouter, Navigate, RouterProvider } from "react-router-dom";
import { AuthProvider } from "./features/auth/AuthContext";
import { LoginPage } from "./features/auth/LoginPage";
import { Layout } from "./features/shell/Layout";
import { ExemlPage } from "./features/projects/ExemlPage";
import { CreateProjectPage } from "./features/projects/CreateProjectPage";
import { ProjectPage } from "./features/projects/ProjectPage";
import { LabelTab } from "./features/labeling/LabelTab";
import { TrainTab } from "./features/training/TrainTab";
import { DeployTab } from "./features/serving/DeployTab";
import { DatasetsPage } from "./features/pages/DatasetsPage";
import { ModelsPage } from "./features/pages/ModelsPage";
import { ServicesPage } from "./features/pages/ServicesPage";
import { UsagePage } from "./features/pages/UsagePage";
import { TokensPage } from "./features/tokens/TokensPage";
import { TeamPage } from "./features/team/TeamPage";
import { TasksPage } from "./features/team/TasksPage";

// A data router, so the text labeler can block navigation while edits are unsaved.
const router = createBrowserRouter([
  { path: "/login", element: <LoginPage /> },
  {
    element: <Layout />,
    children: [
      { index: true, element: <Navigate to="/exeml" replace /> },
      { path: "/exeml", element: <ExemlPage /> },
      { path: "/exeml/create/:type", element: <CreateProjectPage /> },
      {
        path: "/projects/:projectId",
        element: <ProjectPage />,
        children: [
          { index: true, element: <Navigate to="label" replace /> },
          { path: "label", element: <LabelTab /> },
          { path: "train", element: <TrainTab /> },
          { path: "deploy", element: <DeployTab /> },
        ],
      },
      { path: "/datasets", element: <DatasetsPage /> },
      { path: "/models", element: <ModelsPage /> },
      { path: "/services", element: <ServicesPage /> },
      { path: "/usage", element: <UsagePage /> },
      { path: "/tokens", element: <TokensPage /> },
      { path: "/team", element: <TeamPage /> },
      { path: "/tasks", element: <TasksPage /> },
      { path: "*", element: <Navigate to="/exeml" replace /> },
    ],
  },
]);

export function App() {
  return (
    <AuthProvider>
      <RouterProvider router={router} />
    </AuthProvider>
  );
}
